"""``BootstrapResult``: replicates of a fit and the statistics and intervals computed from them."""

from __future__ import annotations

import dataclasses
import functools
from statistics import NormalDist
from typing import Any, Callable

import numpy as np

from ._table import Summary, coef_frame, normal_quantile

CI_METHODS = ("percentile", "basic", "normal", "bca")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class BootstrapResult:
    """Bootstrap replicates of an :class:`MLEResult`.

    Attributes:
      samples: estimates of each replicate, same structure as ``params`` with a leading axis of
        length ``n_boot`` (replicates that failed are included here, flagged by ``converged``).
      converged: bool (n_boot,); ``n_failed`` counts the False ones, which every statistic omits.
      n_iter: iterations of each replicate; ``n_polished`` how many needed exact Newton steps.
      estimate: the full-sample estimates (``res.params``).
      names: flat parameter names (the column order of ``flat_samples`` and ``cov``).
    """

    samples: Any
    converged: np.ndarray
    n_iter: np.ndarray
    n_failed: int
    n_polished: int
    kind: str
    names: tuple
    estimate: Any
    fixed: tuple
    _layout: Any
    _jackknife: Callable

    # ---- flat views ---------------------------------------------------------------------------
    @functools.cached_property
    def flat_samples(self) -> np.ndarray:
        """Converged replicates as a (B_ok, k) array in ``names`` order."""
        leaves = self._layout.treedef.flatten_up_to(self.samples)
        b = self.converged.shape[0]
        flat = np.concatenate([np.asarray(x).reshape(b, -1) for x in leaves], axis=1)
        return flat[self.converged]

    @property
    def _flat_estimate(self) -> np.ndarray:
        leaves = self._layout.treedef.flatten_up_to(self.estimate)
        return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in leaves])

    @property
    def n_boot(self) -> int:
        return int(self.converged.shape[0])

    # ---- statistics ---------------------------------------------------------------------------
    @property
    def cov(self) -> np.ndarray:
        """(k, k) sample covariance of the converged replicates (divisor B - 1; NaN with fewer than 2)."""
        x = self.flat_samples
        if x.shape[0] < 2:
            return np.full((x.shape[1], x.shape[1]), np.nan)
        return np.atleast_2d(np.cov(x, rowvar=False, ddof=1))

    @property
    def _flat_stderr(self) -> np.ndarray:
        x = self.flat_samples
        se = x.std(axis=0, ddof=1) if x.shape[0] >= 2 else np.full(x.shape[1], np.nan)
        return np.where(np.asarray(self.fixed, bool), np.nan, se)

    @property
    def stderr(self):
        """Bootstrap standard errors (sample std of the converged replicates), structure of ``params``."""
        return self._layout.unflatten(self._flat_stderr)

    def conf_int(self, alpha: float = 0.05, method: str = "percentile") -> np.ndarray:
        """Bootstrap confidence intervals, shape (k, 2) in ``names`` order.

        ``method``: "percentile" (quantiles alpha/2, 1 - alpha/2 of the replicates), "basic"
        (2 theta_hat - those quantiles, reversed), "normal" (bias-corrected normal,
        ``theta_hat - bias -/+ z se`` as R's ``boot.ci``), or "bca" (bias-corrected and
        accelerated, Efron 1987; the acceleration from a grouped jackknife, which needs a loglik
        returning per-observation contributions). NaN when fewer than 2 replicates converged.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if method not in CI_METHODS:
            raise ValueError(f"method: unknown {method!r}; expected one of {', '.join(CI_METHODS)}")
        x, est = self.flat_samples, self._flat_estimate
        if x.shape[0] < 2:
            return np.full((x.shape[1], 2), np.nan)
        lo_q, hi_q = alpha / 2, 1 - alpha / 2
        if method == "percentile":
            out = np.stack([np.quantile(x, lo_q, axis=0), np.quantile(x, hi_q, axis=0)], axis=1)
        elif method == "basic":
            out = np.stack([2 * est - np.quantile(x, hi_q, axis=0), 2 * est - np.quantile(x, lo_q, axis=0)], axis=1)
        elif method == "normal":
            z = normal_quantile(hi_q)
            centre = 2 * est - x.mean(axis=0)  # theta_hat - bias
            se = x.std(axis=0, ddof=1)
            out = np.stack([centre - z * se, centre + z * se], axis=1)
        else:
            out = self._bca(alpha)
        out[np.asarray(self.fixed, bool)] = np.nan
        return out

    def _bca(self, alpha: float) -> np.ndarray:
        x, est = self.flat_samples, self._flat_estimate
        nd = NormalDist()
        # bias correction: the share of replicates below the estimate (ties count half)
        below = (x < est).mean(axis=0) + 0.5 * (x == est).mean(axis=0)
        below = np.clip(below, 1.0 / (x.shape[0] + 1), 1 - 1.0 / (x.shape[0] + 1))
        z0 = np.array([nd.inv_cdf(p) for p in below])
        a = self.acceleration
        out = np.empty((x.shape[1], 2))
        for j in range(x.shape[1]):
            for col, q in enumerate((alpha / 2, 1 - alpha / 2)):
                zq = nd.inv_cdf(q)
                adj = nd.cdf(z0[j] + (z0[j] + zq) / (1 - a[j] * (z0[j] + zq)))
                out[j, col] = np.quantile(x[:, j], adj)
        return out

    @functools.cached_property
    def acceleration(self) -> np.ndarray:
        """BCa acceleration per parameter from the grouped jackknife: sum d^3 / (6 (sum d^2)^1.5),
        d = mean - theta_(g)."""
        jack = self._jackknife()
        d = jack.mean(axis=0) - jack
        den = 6.0 * np.sum(d**2, axis=0) ** 1.5
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, np.sum(d**3, axis=0) / den, 0.0)

    # ---- display ------------------------------------------------------------------------------
    def to_frame(self, alpha: float = 0.05, method: str = "percentile"):
        """pandas DataFrame: estimate, bootstrap std err, and the chosen interval."""
        frame = coef_frame(self.names, self._flat_estimate, self._flat_stderr, alpha)[["coef", "std err"]]
        ci = self.conf_int(alpha, method)
        frame[f"[{alpha / 2:g}"] = ci[:, 0]
        frame[f"{1 - alpha / 2:g}]"] = ci[:, 1]
        return frame

    def summary(self, alpha: float = 0.05, method: str = "percentile") -> Summary:
        """Estimates, bootstrap standard errors and ``method`` intervals, with replicate counts."""
        ci = self.conf_int(alpha, method)
        est, se = self._flat_estimate, self._flat_stderr
        width = max([len(n) for n in self.names] + [10])
        head = f"{'':<{width}} {'coef':>11} {'boot se':>11} {f'[{alpha / 2:.3g}':>11} {f'{1 - alpha / 2:.3g}]':>11}"
        lines = [
            f"Bootstrap ({self.kind}), {self.n_boot} replicates, {self.n_failed} failed, {method} intervals",
            head,
            "-" * len(head),
        ]
        for j, name in enumerate(self.names):
            lines.append(f"{name:<{width}} {est[j]:>11.5g} {se[j]:>11.5g} {ci[j, 0]:>11.5g} {ci[j, 1]:>11.5g}")
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, names=None, *, wald=None, bins: int = 40, path=None):
        """Histograms of the replicates of ``names`` (default: all), with the Wald interval of ``wald``
        (an MLEResult) overlaid. Needs matplotlib (the ``plot`` extra). Returns the figure; saves
        it to ``path`` (e.g. a PNG) when given."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError as err:  # pragma: no cover
            raise ImportError("plot() needs matplotlib: pip install 'jaxmle[plot]'") from err
        names = list(self.names) if names is None else [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise ValueError(f"names {unknown} are not parameters; choose from {list(self.names)}")
        cols = [self.names.index(n) for n in names]
        fig, axes = plt.subplots(1, len(cols), figsize=(3.2 * len(cols), 2.8), squeeze=False)
        for ax, j, name in zip(axes[0], cols, names):
            ax.hist(self.flat_samples[:, j], bins=bins, color="0.75", edgecolor="0.4")
            ax.axvline(self._flat_estimate[j], color="k", lw=1.5, label="estimate")
            if wald is not None:
                lo, hi = wald.conf_int()[wald.names.index(name)]
                ax.axvspan(lo, hi, color="tab:blue", alpha=0.15, label="Wald 95%")
            ax.set_title(name)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig
