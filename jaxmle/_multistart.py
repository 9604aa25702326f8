"""``jaxmle.multistart``: many starting points in one vectorized solve, for multimodal likelihoods."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import numpy as np

from . import _dtypes, _status
from ._layout import OutsideSupportError
from ._maximize import BOUNDARY_U, PreparedFit, prepare
from ._result import MLEResult
from ._solve import Solution
from ._table import Summary


@dataclasses.dataclass(frozen=True, repr=False)
class MultistartResult:
    """The best fit of a multistart search and the distinct local optima it found.

    Attributes:
      best: the :class:`MLEResult` of the highest converged optimum: the fit from the start that
        reached it (its ``n_iter`` counts that start's iterations), with the covariance and every
        diagnostic :func:`maximize` gives. It is computed in the same compiled batch as the other
        starts' fits, so a first call compiles one program.
      optima: (m, k) flat estimates of the distinct converged optima, best first (``names`` order).
      optima_loglik: (m,) their log-likelihoods (+ log prior for MAP fits).
      optima_count: (m,) how many starts reached each.
      optima_boundary: (m,) bool: a bounded parameter of the optimum is at its boundary (its
        unconstrained value beyond +-25, e.g. a mixture weight of 1e-11: an empty component).
        Such optima with the same log-likelihood are one row: they differ only in parameters the
        boundary leaves unidentified (the empty component's mean and scale).
      converged: bool (n_starts,) per start; ``n_failed`` counts the False ones.
      solutions: the raw batched :class:`Solution` of every start.
    """

    best: MLEResult
    optima: np.ndarray
    optima_loglik: np.ndarray
    optima_count: np.ndarray
    optima_boundary: np.ndarray
    converged: np.ndarray
    solutions: Any
    names: tuple

    @property
    def n_failed(self) -> int:
        return int((~self.converged).sum())

    def to_frame(self):
        """pandas DataFrame: one row per distinct optimum (loglik, starts reaching it, estimates)."""
        import pandas as pd

        frame = pd.DataFrame(self.optima, columns=list(self.names))
        frame.insert(0, "boundary", self.optima_boundary)
        frame.insert(0, "n_starts", self.optima_count)
        frame.insert(0, "loglik", self.optima_loglik)
        return frame

    def summary(self) -> Summary:
        lines = [f"Multistart: {self.converged.size} starts, {self.n_failed} failed, {len(self.optima_loglik)} distinct optima"]
        for j, (ll, c) in enumerate(zip(self.optima_loglik, self.optima_count)):
            est = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.names[:6], self.optima[j][:6]))
            edge = "  (on a boundary)" if self.optima_boundary[j] else ""
            lines.append(f"  [{j}] loglik={ll:.6g}  starts={c}  {est}{', ...' if len(self.names) > 6 else ''}{edge}")
        lines.append("")
        lines.append(str(self.best.summary()))
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        return str(self.summary())


def multistart(
    loglik: Callable,
    starts: Any,
    data: Any = None,
    *,
    n_starts: int | None = None,
    key: Any = None,
    method: str = "newton",
    cov_type: str = "oim",
    constraints: Any = None,
    log_prior: Callable | None = None,
    weights: Any = None,
    cluster: Any = None,
    fixed: Any = None,
    tol: float = 1e-10,
    max_iter: int | None = None,
    options: dict | None = None,
    expected_info: Callable | None = None,
    dtype: str = "float64",
    distinct_rtol: float = 1e-5,
) -> MultistartResult:
    """Solve from every start in one ``vmap``-ed solve; return the best fit and the distinct optima.

    The arguments not listed below mean what they mean in :func:`maximize` (``cov_type``,
    ``weights`` and ``cluster`` apply to every start's fit, so the best one's covariance is there).
    Starts outside the support are reported as failed, not raised. Calls with the same model and
    shapes reuse the compiled batch.

    Args:
      loglik: the log-likelihood, as for :func:`maximize`.
      starts: a batch of starting pytrees (every leaf with a leading axis of length n_starts), or a
        sampler ``fn(key, n) -> batch`` called with ``key`` and ``n_starts``.
      data: the data, as for :func:`maximize`.
      n_starts: for a sampler: how many starts to draw.
      key: for a sampler: the PRNG key (or an integer seed).
      distinct_rtol: two optima are the same when their flat estimates differ by at most
        ``distinct_rtol * max(1, |theta|)`` in every coordinate.

    Returns:
      A :class:`MultistartResult`: the best :class:`MLEResult` and the table of distinct optima.
    """
    if callable(starts):
        if n_starts is None or key is None:
            raise ValueError("a start sampler needs n_starts= and key=")
        k = jax.random.key(int(key)) if isinstance(key, (int, np.integer)) else key
        starts = starts(k, int(n_starts))
    elif n_starts is not None or key is not None:
        raise ValueError("n_starts= and key= are for a start sampler; a batch of starts gives its own number")
    leaves = jax.tree_util.tree_leaves(starts)
    if not leaves:
        raise ValueError("starts is empty")
    batch = {int(np.shape(x)[0]) if np.ndim(x) else -1 for x in leaves}
    if len(batch) != 1 or -1 in batch:
        raise ValueError(f"every leaf of starts needs the same leading (batch) axis; got leading sizes {sorted(batch)}")
    fit = _prepare_from_a_valid_start(
        starts, batch.pop(), loglik, data, method=method, cov_type=cov_type, constraints=constraints,
        log_prior=log_prior, weights=weights, cluster=cluster, fixed=fixed, tol=tol, max_iter=max_iter,
        options=options, expected_info=expected_info, dtype=dtype,
    )
    layout = fit.layout
    with _dtypes.precision_scope(fit.dtype):
        # (cast on the host: an eager cast would compile a program per leaf)
        starts_c = jax.tree_util.tree_map(lambda x: np.asarray(x, fit.dtype), starts)
        outs, params_b, parts_b = fit.to_host(*fit.engine.fit_batch(
            starts_c, fit.data, fit.weights, *fit.limits(), fit.codes, **fit.static_args()))
    sols = Solution(params=params_b, loglik=outs.loglik, log_posterior=outs.log_posterior,
                    converged=outs.status == _status.CONVERGED, status=outs.status, n_iter=outs.n_iter,
                    grad_norm=outs.grad_norm)
    flat = np.concatenate([np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)
                           for x in layout.treedef.flatten_up_to(sols.params)], axis=1)
    converged = np.asarray(sols.converged) & np.all(np.isfinite(flat), axis=1)
    if not converged.any():
        raise RuntimeError("no start converged; inspect .solutions of a smaller run or widen the starts")
    objective = np.asarray(sols.log_posterior, dtype=np.float64)  # the log likelihood without a prior
    with np.errstate(invalid="ignore"):  # a bounded parameter's u beyond +-BOUNDARY_U (NaN: a failed start)
        on_boundary = np.any((np.abs(outs.u) > BOUNDARY_U) & layout.bounded_u, axis=1)
    reps, counts = _distinct_optima(flat, objective, converged, on_boundary, distinct_rtol)
    best_fit = jax.tree_util.tree_map(lambda x: x[reps[0]], (outs, params_b, parts_b))
    with _dtypes.precision_scope(fit.dtype):
        status = fit.final_status(best_fit[0], best_fit[2])
    best = fit.result(*best_fit, status)
    return MultistartResult(
        best=best,
        optima=flat[reps],
        optima_loglik=objective[reps],
        optima_count=np.asarray(counts),
        optima_boundary=on_boundary[reps],
        converged=converged,
        solutions=sols,
        names=layout.names,
    )


def _distinct_optima(flat, objective, converged, on_boundary, rtol: float) -> tuple[list, list]:
    """``(reps, counts)``: the index of one start per distinct converged optimum, best
    (``objective``) first, and how many starts reached each. Two starts reached the same optimum
    when their flat estimates (n_starts, k) differ by at most ``rtol * max(1, |theta|)`` in every
    coordinate, or when both are on a boundary (``on_boundary``) with the same objective to ``rtol``:
    such optima differ only in what the boundary leaves unidentified."""
    reps, counts = [], []
    for i in (i for i in np.argsort(-objective) if converged[i]):
        for j, r in enumerate(reps):
            same_point = np.all(np.abs(flat[i] - flat[r]) <= rtol * np.maximum(1.0, np.abs(flat[r])))
            same_degenerate = (on_boundary[i] and on_boundary[r]
                               and abs(objective[i] - objective[r]) <= rtol * max(1.0, abs(objective[r])))
            if same_point or same_degenerate:
                counts[j] += 1
                break
        else:
            reps.append(i)
            counts.append(1)
    return reps, counts


def _prepare_from_a_valid_start(starts, n: int, loglik, data, **kwargs) -> PreparedFit:
    """:func:`jaxmle._maximize.prepare` from the first start inside the support (any start gives the
    same layout; one outside it is a failed start for the batch, not an error, unless all are)."""
    for i in range(n):
        start = jax.tree_util.tree_map(lambda x: np.asarray(x, dtype=np.float64)[i], starts)
        try:
            return prepare(loglik, start, data, **kwargs)
        except OutsideSupportError as err:
            reason = err
    raise ValueError(f"every start is outside the support (the first: {reason})")
