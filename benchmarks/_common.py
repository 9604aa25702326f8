"""Shared pieces of the fit benchmarks: workloads (data + log-likelihoods), timers, agreement.

Every workload is built from a fixed seed in float64. The jaxmle log-likelihoods are defined once
at module level (as the README asks), so repeated fits reuse the compiled solver.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any, Callable

import numpy as np

# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------

W1_SEED, W2_SEED = 0, 1
W1_N, W1_P = 100_000, 10
W2_N, W2_P = 50_000, 5
W2_BETA = np.array([1.0, 0.5, -0.5, 0.25, -0.25])  # every coefficient clearly non-zero (relative diffs)
W2_SIGMA, W2_NU = 1.5, 4.0


def w1_data(n: int = W1_N, p: int = W1_P, seed: int = W1_SEED) -> dict:
    """Poisson regression: intercept + (p-1) standard normal covariates, true beta = 0.1."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, p - 1))])
    beta = np.full(p, 0.1)
    y = rng.poisson(np.exp(X @ beta)).astype(np.float64)
    return {"X": X, "y": y}


def w2_data(n: int = W2_N, seed: int = W2_SEED) -> dict:
    """Student-t regression y = X beta + sigma * t_nu, intercept + 4 standard normal covariates."""
    rng = np.random.default_rng(seed)
    p = W2_BETA.size
    X = np.column_stack([np.ones(n), rng.standard_normal((n, p - 1))])
    y = X @ W2_BETA + W2_SIGMA * rng.standard_t(W2_NU, size=n)
    return {"X": X, "y": y}


def w2_naive_start(p: int = W2_P) -> np.ndarray:
    """beta = 0, sigma = 1, nu = 10 (flat vector: beta..., sigma, nu)."""
    return np.r_[np.zeros(p), 1.0, 10.0]


def w2_better_start(data: dict) -> np.ndarray:
    """A data-driven start a careful user would pick: OLS beta, 1.4826 * MAD of the OLS residuals
    as the scale, nu = 5."""
    X, y = data["X"], data["y"]
    b0 = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ b0
    mad = 1.4826 * np.median(np.abs(r - np.median(r)))
    return np.r_[b0, mad, 5.0]


# jaxmle log-likelihoods (module level: defined once, so the engine cache is hit) -------------

def jax_poisson_loglik(params, data):
    import jax.numpy as jnp
    from jax.scipy import stats

    eta = data["X"] @ params["beta"]
    return stats.poisson.logpmf(data["y"], jnp.exp(eta))


def jax_t_loglik(params, data):
    from jax.scipy import stats

    mu = data["X"] @ params["beta"]
    return stats.t.logpdf(data["y"], params["nu"], loc=mu, scale=params["sigma"])


W2_CONSTRAINTS = {"sigma": "positive", "nu": "positive"}


def jaxmle_w1(data: dict, p: int = W1_P):
    import jax.numpy as jnp
    import jaxmle

    return jaxmle.maximize(jax_poisson_loglik, {"beta": jnp.zeros(p)}, data, method="newton")


def jaxmle_w2(data: dict, start: np.ndarray, hessian: str = "auto"):
    """W2's fit (``hessian="auto"``, the default, picks "columns" for this model; ``"batched"`` is the
    other way to compute its Hessians, for comparison)."""
    import jax.numpy as jnp
    import jaxmle

    p0 = {"beta": jnp.asarray(start[:-2]), "sigma": float(start[-2]), "nu": float(start[-1])}
    return jaxmle.maximize(jax_t_loglik, p0, data, method="newton", constraints=W2_CONSTRAINTS, hessian=hessian)


def jaxmle_flat(res, keys) -> tuple[np.ndarray, np.ndarray]:
    """(estimates, standard errors) of a jaxmle result as flat vectors in the order of ``keys``."""
    est = np.concatenate([np.atleast_1d(np.asarray(res.params[k], dtype=float)) for k in keys])
    se = np.concatenate([np.atleast_1d(np.asarray(res.stderr[k], dtype=float)) for k in keys])
    return est, se


# --------------------------------------------------------------------------------------------
# Timing and agreement
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Timing:
    times: list = dataclasses.field(default_factory=list)
    result: Any = None  # what the first timed call returned (all calls are deterministic)

    def add(self, seconds: float, result: Any) -> None:
        self.times.append(seconds)
        if self.result is None:
            self.result = result

    @property
    def min(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _cpu_sample() -> tuple[int, int]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v), v[3] + v[4]  # total, idle + iowait


def wait_for_idle(max_wait: float, window: float = 0.3, min_idle: float = 0.85) -> bool:
    """Sleep until the machine is at least ``min_idle`` idle over a ``window``-second sample (other
    processes' load: this process sleeps meanwhile), for at most ``max_wait`` seconds. Returns
    whether an idle window was seen. A no-op returning True when ``max_wait`` <= 0."""
    if max_wait <= 0:
        return True
    deadline = time.monotonic() + max_wait
    try:
        while True:
            t0, i0 = _cpu_sample()
            time.sleep(window)
            t1, i1 = _cpu_sample()
            if t1 > t0 and (i1 - i0) / (t1 - t0) >= min_idle:
                return True
            if time.monotonic() >= deadline:
                return False
    except OSError:  # no /proc/stat
        return True


def max_rel_diff(a: np.ndarray, ref: np.ndarray) -> float:
    """max_j |a_j - ref_j| / |ref_j| (NaN if either side has a non-finite entry)."""
    a, ref = np.asarray(a, float), np.asarray(ref, float)
    if a.shape != ref.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(ref))):
        return float("nan")
    return float(np.max(np.abs(a - ref) / np.abs(ref)))
