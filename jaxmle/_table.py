"""Coefficient tables shared by every result type (Wald statistics, intervals, text, pandas)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np


class Summary(str):
    """A summary table: a ``str`` that also displays as itself in a REPL."""

    def __repr__(self) -> str:
        return str(self)


def normal_quantile(p: float) -> float:
    return NormalDist().inv_cdf(p)


def two_sided_normal_pvalues(z: np.ndarray) -> np.ndarray:
    """P(|N(0,1)| > |z|), NaN where z is NaN."""
    z = np.asarray(z, dtype=np.float64)
    out = np.array([math.erfc(abs(v) / math.sqrt(2.0)) if np.isfinite(v) else np.nan for v in z.ravel()])
    return out.reshape(z.shape)


def wald_columns(estimates, stderr, alpha: float):
    """(z, p, lower, upper) arrays for flat estimates and standard errors (the interval at level
    1 - alpha; ValueError unless 0 < alpha < 1)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimates / stderr
    p = two_sided_normal_pvalues(z)
    q = normal_quantile(1 - alpha / 2)
    return z, p, estimates - q * stderr, estimates + q * stderr


def coef_table_lines(names, estimates, stderr, alpha: float = 0.05, notes=None) -> list[str]:
    """Rows of a statsmodels-style coefficient table."""
    z, p, lo, hi = wald_columns(estimates, stderr, alpha)
    width = max([len(n) for n in names] + [10])
    head = (
        f"{'':<{width}} {'coef':>11} {'std err':>11} {'z':>9} {'P>|z|':>8} "
        f"{f'[{alpha / 2:.3g}':>11} {f'{1 - alpha / 2:.3g}]':>11}"
    )
    lines = [head, "-" * len(head)]
    for i, name in enumerate(names):
        note = (notes or {}).get(i)
        if note:
            lines.append(f"{name:<{width}} {_num(estimates[i])} {'':>11} {note}")
            continue
        lines.append(
            f"{name:<{width}} {_num(estimates[i])} {_num(stderr[i])} {_fmt(z[i], 9, 3)} {_fmt(p[i], 8, 3)} "
            f"{_num(lo[i])} {_num(hi[i])}"
        )
    return lines


def _num(x) -> str:
    if not np.isfinite(x):
        return f"{'nan':>11}"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-4):
        return f"{x:>11.3e}"
    return f"{x:>11.5f}"


def _fmt(x, width, digits) -> str:
    return f"{'nan':>{width}}" if not np.isfinite(x) else f"{x:>{width}.{digits}f}"


def coef_frame(names, estimates, stderr, alpha: float = 0.05):
    """The coefficient table as a pandas DataFrame (pandas is an optional extra)."""
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover
        raise ImportError("to_frame() needs pandas: pip install 'jaxmle[pandas]'") from err
    z, p, lo, hi = wald_columns(estimates, stderr, alpha)
    return pd.DataFrame(
        {"coef": estimates, "std err": stderr, "z": z, "P>|z|": p, f"[{alpha / 2:g}": lo, f"{1 - alpha / 2:g}]": hi},
        index=list(names),
    )
