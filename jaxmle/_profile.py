"""``jaxmle.profile``: the profile log-likelihood of one parameter and its likelihood-ratio interval.

For a flat parameter psi (one of ``res.names``) and the other free parameters eta,

    l_p(psi) = max_eta l(psi, eta),

and the profile-likelihood interval at level 1 - alpha is ``{psi : 2 (l_hat - l_p(psi)) <= c}``
with ``c = chi2_1(1 - alpha) = z_{1 - alpha/2}^2`` (Wilks; no scipy needed). Unlike the Wald interval
it is invariant to reparameterisation and follows the shape of the likelihood.

Every grid refit is the solve of ``res`` (same method, supports, other fixed parameters, prior,
tolerance) with psi held at its grid value, as ``make_solver(..., fixed=<res's mask plus psi>)``
would hold it; all of them run as one ``vmap``-ed, jitted solve warm-started at ``res.params`` with
psi set to the grid value. Which parameter is held is an argument of that compiled solve (a
dynamic mask, see :class:`jaxmle._objective.Objective`), not part of its program: profiling every
parameter of a model compiles one program for the grid and one for the endpoints' refits, not two
per parameter. Interval endpoints are bracketed by the grid and refined by a safeguarded
Newton iteration on ``D(psi) = 2 (l_hat - l_p(psi)) - c``, whose derivative comes free from the
envelope theorem (``dl_p/dpsi = dl/dpsi`` at the constrained maximum); each step is one small
batched refit (both endpoints together, a batch of 2) through the same solver.

For a MAP fit (``log_prior``) the profiled objective is the log posterior (log-likelihood plus
log prior) and ``max_loglik`` is its maximum ``res.loglik + res.log_prior``: the interval is the
penalised-likelihood analogue, calibrated by the same chi-square cut-off (exact only
asymptotically, when the prior's weight is negligible next to the data's).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from statistics import NormalDist
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import _compile, _dtypes, _status, _validation, _warnings
from ._numerics import safe_inverse
from ._setup import FitConfig
from ._solve import Solver
from ._table import Summary
from ._warnings import ConvergenceWarning, JaxmleWarning, ProfileWarning

__all__ = ["profile", "ProfileResult"]

# Root finding on D(psi): at most this many rounds of (batched) refits per call of conf_int.
MAX_ROUNDS = 60


def chi2_1_quantile(alpha: float) -> float:
    """``chi2_1(1 - alpha)``, the upper-alpha point of a chi-square with 1 df: ``z_{1-alpha/2}^2``."""
    return NormalDist().inv_cdf(1.0 - alpha / 2.0) ** 2


def _check_alpha(alpha) -> float:
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(alpha)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class ProfileResult:
    """The profile log-likelihood of one parameter (see :func:`profile`).

    Attributes:
      name: the profiled flat parameter (one of ``names``).
      grid: (m,) values of the parameter, increasing (constrained scale).
      loglik: (m,) profile values ``l_p(grid)`` (the log posterior for a MAP fit).
      converged: bool (m,): whether each grid refit converged; failed points are left out of
        :meth:`conf_int` and :meth:`plot`.
      params: (m, k) the maximising flat parameters at each grid value (``names`` order; the
        profiled column equals ``grid``).
      estimate: the estimate of the parameter in ``res``.
      max_loglik: the maximum ``l_hat``: ``res.loglik`` (plus ``res.log_prior`` for a MAP fit).
      stderr: the Wald standard error of the estimate from the observed information (for
        comparison: the curvature of the log-likelihood at its maximum, which the profile has
        asymptotically; ``res.stderr`` for an "oim" fit, not the robust one of a "robust" or
        "cluster" fit; NaN where there is none).
      is_map: True when ``res`` is a MAP fit, so the profile is of the log posterior.
      alpha: the default level of :meth:`conf_int` and :meth:`plot`.
      names: flat names of every parameter (the columns of ``params``).
    """

    name: str
    grid: np.ndarray
    loglik: np.ndarray
    converged: np.ndarray
    params: np.ndarray
    estimate: float
    max_loglik: float
    stderr: float
    is_map: bool
    alpha: float
    names: tuple
    _index: int
    _theta_hat: np.ndarray
    _slope: np.ndarray  # dl_p/dpsi at each grid point (envelope theorem)
    _ftol: float
    _refit: Callable  # (2, k) flat starts -> (theta (2, k), value (2,), converged (2,), slope (2,))
    _cache: dict = dataclasses.field(default_factory=dict)

    @property
    def deviance(self) -> np.ndarray:
        """(m,) ``2 (max_loglik - loglik)``: the likelihood-ratio statistic of ``name = grid``."""
        return 2.0 * (self.max_loglik - self.loglik)

    # ---- interval -----------------------------------------------------------------------------
    def conf_int(self, alpha: float | None = None) -> np.ndarray:
        """The profile-likelihood interval ``{psi : 2 (l_hat - l_p(psi)) <= chi2_1(1 - alpha)}``.

        Each endpoint is bracketed by the grid (the first converged grid value beyond the estimate
        where the statistic exceeds the cut-off, so the interval is the connected set around the
        estimate) and refined by safeguarded Newton steps, each one refit at the trial value, to
        ``|D| <= 1e-10`` in chi-square units (or a bracket of relative width 1e-12).

        Args:
          alpha: level (default: the ``alpha`` given to :func:`profile`, 0.05 unless changed).

        Returns:
          (2,) array ``[lower, upper]``; an endpoint is NaN, with a :class:`ProfileWarning`, when the
          cut-off is not crossed on that side inside the grid (widen it with ``width=`` or ``grid=``;
          the interval may also be unbounded there).
        """
        alpha = self.alpha if alpha is None else _check_alpha(alpha)
        if alpha not in self._cache:
            self._cache[alpha] = self._endpoints(chi2_1_quantile(alpha), alpha)
        interval, messages = self._cache[alpha]
        for message in messages:
            _warnings.warn(message, ProfileWarning)
        return interval.copy()

    def _endpoints(self, c: float, alpha: float):
        est = self.estimate
        d_grid = self.deviance - c
        messages, states = [], {}
        for side, label in ((-1, "lower"), (1, "upper")):
            idx = np.nonzero(self.converged & (side * (self.grid - est) > 0))[0]
            idx = idx[np.argsort(side * (self.grid[idx] - est))]
            xs = np.concatenate([[est], self.grid[idx]])
            ds = np.concatenate([[-c], d_grid[idx]])
            dds = np.concatenate([[0.0], -2.0 * self._slope[idx]])
            thetas = np.concatenate([self._theta_hat[None, :], self.params[idx]])
            crossed = np.nonzero(ds >= 0)[0]
            if not crossed.size:
                reach = xs[-1] if xs.size > 1 else est
                messages.append(
                    f"the profile of {self.name} does not cross the chi2_1 cut-off {c:.4g} (alpha={alpha:g}) "
                    f"{'below' if side < 0 else 'above'} the estimate inside the grid (2*(l_hat - l_p) reaches only "
                    f"{np.max(ds) + c:.4g} at {self.name}={reach:.6g}); the {label} endpoint is NaN. Widen the grid "
                    "(width= or grid=), or the interval is unbounded on that side."
                )
                continue
            k = int(crossed[0])
            ends = [_End(xs[i], ds[i], dds[i], thetas[i]) for i in (k - 1, k)]
            states[label] = _Bracket(inner=ends[0], outer=ends[1], c=c, w0=abs(xs[k] - xs[k - 1]))
        self._solve_brackets(states, messages)
        interval = np.array([states["lower"].result if "lower" in states else np.nan,
                             states["upper"].result if "upper" in states else np.nan])
        return interval, messages

    def _solve_brackets(self, states: dict, messages: list) -> None:
        """Refine every bracket in lockstep: one batched refit (batch of 2) per round."""
        j = self._index
        for _ in range(MAX_ROUNDS):
            active = [(label, s) for label, s in states.items() if not s.done]
            if not active:
                return
            starts = np.repeat(self._theta_hat[None, :], 2, axis=0)
            trial = {}
            for slot, (label, s) in enumerate(active):
                x, start = s.candidate()
                starts[slot] = start
                starts[slot, j] = x
                trial[label] = (slot, x)
            theta, value, ok, slope = self._refit(starts)
            for label, s in active:
                slot, x = trial[label]
                if not (ok[slot] and np.isfinite(value[slot])):
                    s.fails += 1
                    if s.fails >= 3:
                        s.done, s.result = True, np.nan
                        messages.append(
                            f"the profile refit at {self.name}={x:.6g} did not converge while locating the {label} "
                            "endpoint; it is NaN. Try a finer grid near the endpoint."
                        )
                    continue
                d = 2.0 * (self.max_loglik - value[slot]) - s.c
                s.update(_End(x, d, -2.0 * slope[slot], theta[slot]), self._ftol)
        for label, s in states.items():
            if not s.done:  # bracket still wide after MAX_ROUNDS: its false-position point
                s.done, s.result = True, s.false_position()

    # ---- display ------------------------------------------------------------------------------
    def to_frame(self):
        """pandas DataFrame, one row per grid value: the value, ``loglik``, ``deviance``, ``converged``
        and the maximising values of the other parameters."""
        try:
            import pandas as pd
        except ImportError as err:  # pragma: no cover
            raise ImportError("to_frame() needs pandas: pip install 'jaxmle[pandas]'") from err
        frame = pd.DataFrame({self.name: self.grid, "loglik": self.loglik, "deviance": self.deviance,
                              "converged": self.converged})
        for col, other in enumerate(self.names):
            if col != self._index:
                frame[other] = self.params[:, col]
        return frame

    def plot(self, path=None, *, alpha: float | None = None, scale: str = "deviance"):
        """Draw the profile with the chi-square cut-off, the estimate, the interval and the Wald parabola.

        Needs matplotlib (the ``plot`` extra).

        Args:
          path: save the figure there (e.g. ``"profile.png"``) when given.
          alpha: level of the cut-off and interval (default: the result's ``alpha``).
          scale: ``"deviance"`` plots ``2 (l_hat - l_p)`` against the cut-off ``chi2_1(1 - alpha)``;
            ``"loglik"`` plots ``l_p`` against ``l_hat - chi2_1(1 - alpha) / 2``.

        Returns:
          The matplotlib Figure.
        """
        if scale not in ("deviance", "loglik"):
            raise ValueError(f"scale must be 'deviance' or 'loglik', got {scale!r}")
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError as err:  # pragma: no cover
            raise ImportError("plot() needs matplotlib: pip install 'jaxmle[plot]'") from err
        alpha = self.alpha if alpha is None else _check_alpha(alpha)
        c = chi2_1_quantile(alpha)
        ok = self.converged
        x = self.grid[ok]
        obj = "log posterior" if self.is_map else "log-likelihood"
        if scale == "deviance":
            y, cut, ylabel = self.deviance[ok], c, r"$2(\hat\ell - \ell_p)$"
        else:
            y, cut, ylabel = self.loglik[ok], self.max_loglik - c / 2.0, rf"$\ell_p$ (profile {obj})"
        fig, ax = plt.subplots(figsize=(4.8, 3.4))
        ax.plot(x, y, "-o", ms=2.5, lw=1.2, color="tab:blue", label="profile")
        if np.isfinite(self.stderr) and self.stderr > 0:
            xx = np.linspace(x.min(), x.max(), 200) if x.size else np.array([])
            quad = ((xx - self.estimate) / self.stderr) ** 2
            ax.plot(xx, quad if scale == "deviance" else self.max_loglik - quad / 2.0, "--", lw=0.9,
                    color="0.5", label="Wald (quadratic)")
        ax.axhline(cut, color="tab:red", lw=0.9, ls="--", label=f"cut-off, {1 - alpha:.0%}")
        ax.axvline(self.estimate, color="k", lw=0.8)
        for v in self.conf_int(alpha):
            if np.isfinite(v):
                ax.axvline(v, color="tab:red", lw=0.8, ls=":")
        ax.set_xlabel(self.name)
        ax.set_ylabel(ylabel)
        ax.set_title(f"Profile {obj} of {self.name}", fontsize=10)
        ax.legend(fontsize=7)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig

    def summary(self) -> Summary:
        obj = "log posterior (MAP)" if self.is_map else "log-likelihood"
        n_ok = int(self.converged.sum())
        lines = [
            f"Profile {obj} of {self.name}",
            f"  estimate {self.estimate:.6g} (Wald s.e. {self.stderr:.4g}), maximum {self.max_loglik:.8g}",
            f"  {self.grid.size} grid values in [{self.grid[0]:.6g}, {self.grid[-1]:.6g}], {n_ok} converged",
            f"  .conf_int(alpha={self.alpha:g}) for the profile-likelihood interval, .plot() to draw it",
        ]
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        return (
            f"ProfileResult(name={self.name!r}, estimate={self.estimate:.6g}, max_loglik={self.max_loglik:.8g}, "
            f"grid=[{self.grid[0]:.6g} .. {self.grid[-1]:.6g}] ({self.grid.size} values, "
            f"{int(self.converged.sum())} converged){', MAP' if self.is_map else ''})"
        )


@dataclasses.dataclass
class _End:
    """One evaluated point of D(psi) = 2 (l_hat - l_p(psi)) - c: value, derivative, maximiser."""

    x: float
    d: float
    dd: float
    theta: np.ndarray


@dataclasses.dataclass
class _Bracket:
    """A bracket ``inner`` (D < 0) / ``outer`` (D >= 0) of one endpoint, refined by safeguarded Newton."""

    inner: _End
    outer: _End
    c: float  # the cut-off: D = 2 (l_hat - l_p) - c
    w0: float  # the initial bracket width
    done: bool = False
    result: float = float("nan")
    fails: int = 0
    best: float = float("inf")  # smallest |D| seen
    bisect: bool = False

    def __post_init__(self):
        if self.outer.d == 0.0:
            self.done, self.result = True, float(self.outer.x)

    def false_position(self) -> float:
        a, b = self.inner, self.outer
        if b.d == a.d:
            return 0.5 * (a.x + b.x)
        return float(a.x - a.d * (b.x - a.x) / (b.d - a.d))

    def candidate(self):
        """The next trial value (inside the bracket) and the maximiser to warm-start from."""
        a, b = self.inner, self.outer
        lo, hi = min(a.x, b.x), max(a.x, b.x)
        x = None
        if not self.bisect and self.fails == 0:
            e = a if abs(a.d) < abs(b.d) else b
            if np.isfinite(e.dd) and e.dd != 0.0:
                x = e.x - e.d / e.dd  # Newton step on D
            if x is None or not lo < x < hi:
                x = self.false_position()
        if x is None or not lo < x < hi:
            x = 0.5 * (lo + hi)
        nearer = a if abs(x - a.x) <= abs(x - b.x) else b
        return float(x), nearer.theta.copy()

    def update(self, new: _End, ftol: float) -> None:
        """Replace the bracket end on ``new``'s side; stop when |D| <= ftol or the bracket is tiny."""
        self.fails = 0
        if new.d >= 0:
            self.outer = new
        else:
            self.inner = new
        self.bisect = abs(new.d) > 0.5 * self.best  # too little progress: bisect next
        self.best = min(self.best, abs(new.d))
        if abs(new.d) <= ftol:
            self.done, self.result = True, float(new.x)
            return
        width = abs(self.outer.x - self.inner.x)
        if width <= 1e-12 * max(abs(self.outer.x), abs(self.inner.x)) + 1e-10 * self.w0:
            self.done, self.result = True, self.false_position()


def _leaf_of(layout, j: int, name: str):
    """(u index, Support) of flat parameter j (called ``name``); raise for an element of a simplex."""
    t_start = u_start = 0
    for sup, m in zip(layout.supports, layout.sizes):
        if t_start <= j < t_start + m:
            if not sup.elementwise:
                raise ValueError(
                    f"cannot profile {name!r}: it is an element of a simplex leaf, which cannot be held "
                    "fixed alone (the other elements must renormalise); profile a free reparameterisation instead "
                    "(e.g. log-ratios with a 'real' support)"
                )
            return u_start + (j - t_start), sup
        t_start += m
        u_start += sup.u_size(m)
    raise IndexError(j)  # pragma: no cover


@functools.lru_cache(maxsize=64)
def _batch_refit(cfg: FitConfig, scalar: bool):
    """Jitted ``(starts (b, k), data, weights, j, uj) -> (theta (b, k), value (b,), status (b,), n_iter (b,),
    grad (b, k))``: each start's refit with flat parameter ``j`` (unconstrained index ``uj``) held at
    its start.

    ``cfg`` is ``res``'s config: the refit is ``res``'s solve (method, supports, other fixed
    parameters, prior, tolerance) with a dynamic pin on ``uj`` (:meth:`jaxmle._solve.Solver._solve_held`),
    so one compiled program per batch size serves every profiled parameter. ``value`` is the log
    posterior (the log-likelihood without a prior) at the constrained maximum; ``grad`` its gradient
    in theta there, whose ``j``-th element is dl_p/dpsi by the envelope theorem. With one free
    parameter (nothing left to maximise once it is held) the log posterior is just evaluated."""
    layout = cfg.layout
    solver = Solver(cfg) if layout.k_free > 1 else None
    free_u = np.asarray(layout.free_u)

    def log_post_theta(theta, data, weights):
        params = layout.unflatten(theta)
        c = jnp.asarray(cfg.loglik(params, data))
        value = c if scalar else jnp.sum(c * weights)
        return value if cfg.log_prior is None else value + cfg.log_prior(params)

    def refit_held(theta0, data, weights, j, uj):
        if solver is None:
            theta = theta0
            value = log_post_theta(theta, data, weights)
            status = jnp.where(jnp.isfinite(value), _status.CONVERGED, _status.NONFINITE).astype(jnp.int32)
            n_iter = jnp.zeros((), jnp.int32)
        else:
            sol = solver._solve_held(layout.unflatten(theta0), data, weights, pin=jnp.asarray(free_u) == uj)
            theta, value, status, n_iter = layout.flatten(sol.params), sol.log_posterior, sol.status, sol.n_iter
            theta = jnp.where(jnp.arange(theta.shape[0]) == j, theta0, theta)  # the grid value, not its round trip
        grad = jax.grad(log_post_theta)(theta, data, weights)
        return theta, value, status, n_iter, grad

    return _compile.jit(jax.vmap(refit_held, in_axes=(0, None, None, None, None)))


def _u_variance(res, layout, uj) -> float:
    """The observed-information variance of the unconstrained value ``u[uj]`` (NaN where singular)."""
    inv, _, _ = safe_inverse(-np.asarray(res._hess_z, dtype=np.float64))
    return float(inv[layout.free_u.index(uj), layout.free_u.index(uj)])


def _oim_stderr(res, layout, j, uj, sup) -> float:
    """The observed-information standard error of flat parameter ``j`` (elementwise support ``sup``
    of ``u[uj]``): ``|d theta / du| sqrt(var u)``, NaN where there is none."""
    if res.cov_type == "oim":
        return float(res._flat_stderr[j])
    var = _u_variance(res, layout, uj)
    if not (np.isfinite(var) and var > 0):
        return math.nan
    with _dtypes.precision_scope(np.float64):
        u = jnp.full((1,), float(res._u[uj]), jnp.float64)
        slope = jax.jvp(lambda v: sup.forward(v, (1,)), (u,), (jnp.ones_like(u),))[1]
    return abs(float(slope[0])) * math.sqrt(var)


def _default_grid(res, layout, j, uj, sup, n_grid: int, width: float, name: str) -> np.ndarray:
    """``width`` Wald standard errors each side of the estimate, equally spaced on the unconstrained scale."""
    var = _u_variance(res, layout, uj)
    if not (np.isfinite(var) and var > 0):
        raise ValueError(
            f"no finite standard error for {name!r} at the estimate (the information is singular or not "
            "positive definite there, e.g. an estimate on the boundary), so there is no default grid: pass grid= "
            "explicitly"
        )
    u = float(res._u[uj]) + np.linspace(-width, width, n_grid) * math.sqrt(var)
    with _dtypes.precision_scope(np.float64):
        theta = np.asarray(sup.forward(jnp.asarray(u, jnp.float64), (n_grid,)), dtype=np.float64)
    inside = np.array([sup.check(np.array([t])) is None for t in theta])  # drop values rounded onto a bound
    grid = np.unique(theta[inside])
    if grid.size < 3:  # a standard error so large on the u scale that theta rounds onto its bounds
        raise ValueError(
            f"the default grid for {name!r} collapses to {grid.size} value(s) inside its support "
            f"{sup} (its standard error spans the whole support: an estimate on or near its boundary), so pass "
            "grid= explicitly")
    return grid


def _check_grid(grid, sup, name: str) -> np.ndarray:
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"grid must be a 1-d array of values of {name}, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError(f"grid for {name} contains non-finite values")
    outside = [float(v) for v in g if sup.check(np.array([v])) is not None]
    if outside:
        raise ValueError(f"grid values {outside[:5]} of {name} lie outside its support {sup} (open interior)")
    g = np.unique(g)
    if g.size < 2:
        raise ValueError(f"grid for {name} needs at least 2 distinct values, got {g.size}")
    return g


def profile(
    res,
    loglik: Callable,
    data: Any,
    name: str,
    *,
    grid: Any = None,
    n_grid: int = 41,
    width: float = 4.0,
    alpha: float = 0.05,
    weights: Any = None,
) -> ProfileResult:
    """The profile log-likelihood of parameter ``name``: ``l_p(psi) = max over the others of l``.

    For each grid value the parameter is held fixed and every other free parameter of ``res`` is
    re-maximised with ``res``'s method, supports, fixed parameters, prior and tolerance; all grid
    refits run as one ``vmap``-ed solve, warm-started at ``res.params``. For a MAP fit the profiled
    objective is the log posterior (see the module docstring). The interval uses the likelihood
    alone, so it is model-based whatever ``cov_type`` ``res`` has: a "robust" or "cluster" fit gets
    a warning saying so (its robust interval is ``res.conf_int()``).

    Args:
      res: an :class:`MLEResult` from :func:`maximize`.
      loglik: the log-likelihood ``res`` was fitted with (per-observation or scalar).
      data: the data ``res`` was fitted on.
      name: a flat parameter name from ``res.names`` (``"beta[1]"``, ``"sigma"``); not a fixed
        parameter nor an element of a simplex leaf.
      grid: the values of the parameter (constrained scale, inside its support); default:
        ``n_grid`` values spanning ``width`` Wald standard errors (from the observed information)
        each side of the estimate, equally spaced on the unconstrained scale (so a "positive"
        parameter's grid is geometric and stays > 0; a "real" one is equally spaced).
      n_grid: number of default grid values (odd, so the estimate is one of them).
      width: half-width of the default grid in standard errors (4 covers the 95% and 99%
        intervals of a near-quadratic profile).
      alpha: default level of ``conf_int`` and ``plot``.
      weights: the frequency weights ``res`` was fitted with, if any.

    Returns:
      A :class:`ProfileResult` (``.grid``, ``.loglik``, ``.converged``, ``.conf_int()``,
      ``.plot()``, ``.to_frame()``).
    """
    cfg = getattr(res, "_config", None)
    if cfg is None:
        raise TypeError("res must be an MLEResult returned by jaxmle.maximize")
    if not callable(loglik):
        raise TypeError(f"loglik must be a function loglik(params, data), got {type(loglik).__name__}")
    layout = cfg.layout
    names = tuple(res.names)  # (the layout's, or those given by res.rename)
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"name: {name!r} is not a parameter of res; valid names: {', '.join(names)}")
    j = names.index(name)
    if layout.fixed_theta[j]:
        raise ValueError(f"cannot profile {name!r}: it is fixed in res (held at {res._flat[j]:.6g}), not estimated")
    uj, sup = _leaf_of(layout, j, name)
    alpha = _check_alpha(alpha)
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 3:
        raise ValueError(f"n_grid must be an integer >= 3, got {n_grid!r}")
    if not (isinstance(width, (int, float, np.floating)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a positive number of standard errors, got {width!r}")
    data = _validation.normalize_data(data)
    n = _validation.check_data(data)
    if data is None:  # a loglik holding its own data: n is the length of its contributions
        n = res.nobs
    if n != res.nobs:
        raise ValueError(f"data has n={n} observations but res was fitted on nobs={res.nobs}")
    w_np = _validation.check_weights_of_fit(weights, n, res, "profile")
    if res._scalar and w_np is not None:
        raise ValueError("weights need per-observation contributions, but loglik returns a scalar")
    if not res.converged:
        _warnings.warn(
            f"res did not converge ({res.status}); the profile is measured from res.loglik, which may not be the "
            "maximum", ProfileWarning)
    if res.cov_type in ("robust", "cluster"):
        _warnings.warn(
            f"res has cov_type={res.cov_type!r}, but a profile-likelihood interval uses the likelihood alone: it is "
            "model-based (as the oim Wald interval), not robust; for robust inference use res.conf_int()",
            JaxmleWarning)
    grid = (_default_grid(res, layout, j, uj, sup, int(n_grid), float(width), name) if grid is None
            else _check_grid(grid, sup, name))

    fn = _batch_refit(dataclasses.replace(cfg, loglik=loglik), bool(res._scalar))
    dtype = cfg.dtype
    theta_hat = np.asarray(res._flat, dtype=np.float64)
    max_loglik = float(res.loglik) + (float(res.log_prior) if res.is_map else 0.0)

    with _dtypes.precision_scope(dtype):
        data_c = _dtypes.to_device(_dtypes.cast_data(data, dtype))
        w = jax.device_put(np.ones((n or 1,), dtype) if w_np is None else np.asarray(w_np, dtype))  # (no eager op)

    def refit(starts: np.ndarray):
        with _dtypes.precision_scope(dtype):
            theta, value, status, _, grad = fn(jnp.asarray(starts, dtype), data_c, w, j, uj)
            return (np.asarray(theta, np.float64), np.asarray(value, np.float64),
                    np.asarray(status) == _status.CONVERGED, np.asarray(grad, np.float64)[:, j])

    starts = np.repeat(theta_hat[None, :], grid.size, axis=0)
    starts[:, j] = grid
    theta, value, converged, slope = refit(starts)
    converged = converged & np.isfinite(value)

    n_bad = int((~converged).sum())
    if n_bad:
        _warnings.warn(
            f"{n_bad} of {grid.size} profile refits of {name} did not converge (at {name}="
            f"{', '.join(f'{v:.4g}' for v in grid[~converged][:5])}{', ...' if n_bad > 5 else ''}); they are left out "
            "of conf_int and plot (see .converged)",
            ConvergenceWarning)
    eps = float(np.finfo(dtype).eps)
    rounding = 64.0 * eps * max(1.0, abs(max_loglik))  # the rounding level of the log-likelihood sums
    excess = np.where(converged, value - max_loglik, -np.inf)
    if converged.any() and excess.max() > max(1e-6, rounding):
        i = int(np.argmax(excess))
        _warnings.warn(
            f"the profile of {name} rises {excess[i]:.3g} above the maximum of res at {name}={grid[i]:.6g}: res is not "
            "the (global) maximum; refit from the profile's maximiser there (ProfileResult.params)",
            ProfileWarning)
    return ProfileResult(
        name=name,
        grid=grid,
        loglik=value,
        converged=converged,
        params=theta,
        estimate=float(theta_hat[j]),
        max_loglik=max_loglik,
        stderr=_oim_stderr(res, layout, j, uj, sup),
        is_map=bool(res.is_map),
        alpha=alpha,
        names=names,
        _index=j,
        _theta_hat=theta_hat,
        _slope=slope,
        _ftol=max(1e-10, rounding),
        _refit=refit,
    )
