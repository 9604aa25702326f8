"""``jaxmle.maximize_stream``: exact maximum likelihood for data streamed from the host in chunks.

For data beyond memory, the data never exist as one array. Each Newton iteration is one pass over
the chunks: a compiled per-chunk function returns the chunk's log-likelihood, gradient, Hessian
and score outer products (k and k x k numbers), which are summed on the host; the safeguarded
Newton step of :mod:`jaxmle._newton`, a backtracking line search (one value pass per trial) and
the convergence test (relative gradient <= tol) run on the host. The pass that confirms
convergence also yields the oim, opg and robust covariances, equal to :func:`maximize`'s on the
same data (tested).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from . import _covariance, _dtypes, _status, _validation
from ._engine import chain_rule_applies, theta_hessian_by_chain_rule
from ._maximize import _check_boundary, _diagnose
from ._newton import ARMIJO_C, NEG_CURV_TOL, SecondOrderSolver
from ._numerics import relative_gradient
from ._objective import ModelSpec, Objective
from ._result import MLEResult
from ._setup import configure
from ._warnings import ConvergenceWarning

STREAM_COV_TYPES = ("oim", "opg", "robust", "none")


@functools.lru_cache(maxsize=32)
def _compiled(loglik, log_prior, layout):
    """Jitted per-chunk and prior functions of the full unconstrained vector u."""
    data_spec = ModelSpec(loglik)  # the prior is added once per pass, not once per chunk
    prior_spec = ModelSpec(loglik, log_prior)

    def chunk_obj(u, data):
        n = jax.tree_util.tree_leaves(data)[0].shape[0]
        return Objective(data_spec, layout, u, data, jnp.ones((n,), u.dtype))

    def value(u, data):
        return chunk_obj(u, data)._loglik_and_magnitude(layout.free_part(u))

    def derivatives(u, data):
        obj, z = chunk_obj(u, data), layout.free_part(u)
        f, g, h = obj.value_grad_hessian(z)  # of -loglik
        return -f, -g, -h, obj.outer_product(z)[2]

    def prior(u):
        obj = Objective(prior_spec, layout, u, None, jnp.ones((1,), u.dtype))
        z = layout.free_part(u)
        value, grad = jax.value_and_grad(obj.log_prior)(z)
        return value, grad, obj.prior_hessian(z), obj.theta_jacobian(z)

    def theta_hessian(u, hess_z, grad_z):
        return theta_hessian_by_chain_rule(layout, u, layout.free_part(u), hess_z, grad_z)

    return jax.jit(value), jax.jit(derivatives), jax.jit(prior), jax.jit(theta_hessian)


def maximize_stream(
    loglik: Callable,
    params0: Any,
    chunks: Callable[[], Iterable[Any]],
    *,
    cov_type: str = "oim",
    constraints: Any = None,
    log_prior: Callable | None = None,
    fixed: Any = None,
    tol: float = 1e-10,
    max_iter: int = 50,
    max_halvings: int = 40,
    dtype: str = "float64",
) -> MLEResult:
    """Maximise a log-likelihood over data that arrive in chunks (an out-of-core Newton method).

    Args:
      loglik: per-observation contributions ``loglik(params, data_chunk) -> (m,)``.
      params0: starting values (any pytree of floats).
      chunks: a function returning a fresh iterable of data chunks (pytrees with a leading
        observation axis) on every call; each Newton iteration and each line-search trial is one
        pass. Chunks of equal shape share one compilation (pad the last one or keep it apart).
      cov_type: "oim", "opg", "robust" or "none" (formulas of :func:`maximize`).
      constraints: supports, as for :func:`maximize`.
      log_prior: a log prior (MAP), as for :func:`maximize`.
      fixed: parameters held at their start, as for :func:`maximize`.
      tol: relative gradient tolerance.
      max_iter: Newton iterations (passes with derivatives) at most.
      max_halvings: line-search step halvings at most per iteration.
      dtype: "float64" or "float32".

    Returns:
      An :class:`MLEResult` (``method="newton-stream"``); ``hessian`` is NaN when some parameter is
      fixed or a simplex (it is only available there from the in-memory fit).
    """
    if cov_type not in STREAM_COV_TYPES:
        raise ValueError(f"cov_type: unknown {cov_type!r} for maximize_stream; expected one of {STREAM_COV_TYPES}")
    if not callable(chunks):
        raise TypeError("chunks must be a function returning a fresh iterable of data chunks (it is read once per pass)")
    cfg = configure(loglik, params0, method="newton", constraints=constraints, log_prior=log_prior, fixed=fixed,
                    tol=tol, max_iter=max_iter, options={"max_halvings": max_halvings}, expected_info=None,
                    dtype=dtype)
    layout, np_dtype = cfg.layout, cfg.dtype
    value_fn, deriv_fn, prior_fn, theta_hess_fn = _compiled(loglik, log_prior, layout)
    solver = SecondOrderSolver("hessian", max_halvings)
    eps = float(np.finfo(np_dtype).eps)

    def each_chunk():
        count = 0
        for chunk in chunks():
            chunk = _validation.normalize_data(chunk)
            _validation.check_data(chunk)
            count += 1
            yield _dtypes.cast_data(chunk, np_dtype)
        if count == 0:
            raise ValueError("chunks() yielded no data")

    def value_pass(u):
        ll = mag = 0.0
        for chunk in each_chunk():
            c, m = value_fn(u, chunk)
            ll, mag = ll + float(c), mag + float(m)
        prior = float(prior_fn(u)[0])
        return -(ll + prior), mag + abs(prior)

    def derivative_pass(u):
        total, n = None, 0
        for chunk in each_chunk():
            parts = [np.asarray(p, dtype=np.float64) for p in deriv_fn(u, chunk)]
            total = parts if total is None else [a + b for a, b in zip(total, parts)]
            n += jax.tree_util.tree_leaves(chunk)[0].shape[0]
        ll, grad, hess, outer = total
        prior, prior_grad, prior_hess, jac = (np.asarray(p, dtype=np.float64) for p in prior_fn(u))
        return ll, prior, grad + prior_grad, hess + prior_hess, outer, jac, n

    with _dtypes.precision_scope(np_dtype):
        u = np.asarray(layout.unconstrain(_dtypes.cast_data(params0, np_dtype)), dtype=np_dtype)
        status, n_iter, halvings = _status.RUNNING, 0, 0
        while True:
            ll, prior, grad, hess, outer, jac, n = derivative_pass(u)
            z = np.asarray(layout.free_part(jnp.asarray(u)))
            f = -(ll + prior)
            lam, vec = np.linalg.eigh(-hess)  # the objective's Hessian
            converged = float(relative_gradient(jnp.asarray(-grad), jnp.asarray(z), f)) <= cfg.tol and (
                lam[0] >= -NEG_CURV_TOL * np.max(np.abs(lam)))
            if not np.isfinite(f) or not np.all(np.isfinite(grad)):
                status = _status.NONFINITE
            elif converged:
                status = _status.CONVERGED
            elif n_iter >= cfg.max_iter:
                status = _status.MAX_ITER
            if status != _status.RUNNING:
                break
            d = np.asarray(solver.direction(jnp.asarray(-grad), jnp.asarray(lam), jnp.asarray(vec)))
            gd = min(float(-grad @ d), 0.0)
            t, accepted = 1.0, False
            for _ in range(max_halvings + 1):
                trial = np.asarray(layout.insert_free(jnp.asarray(z + t * d), jnp.asarray(u)), dtype=np_dtype)
                f_new, magnitude = value_pass(trial)
                if np.isfinite(f_new) and f_new <= f + ARMIJO_C * t * gd + 10 * eps * max(abs(f), magnitude):
                    accepted = True
                    break
                t *= 0.5
                halvings += 1
            if not accepted:
                status = _status.STALLED
                break
            u, n_iter = trial, n_iter + 1
        theta_hess = (np.asarray(theta_hess_fn(jnp.asarray(u), jnp.asarray(hess), jnp.asarray(grad)))
                      if chain_rule_applies(layout) else np.full((layout.k, layout.k), np.nan))
        params_hat = jax.tree_util.tree_map(lambda x: np.asarray(x, dtype=np.float64), layout.constrain(jnp.asarray(u)))

    if status != _status.CONVERGED:
        warnings.warn(f"maximize_stream did not converge ({_status.message(status)}) after {n_iter} iterations",
                      ConvergenceWarning, stacklevel=2)
    covres = _covariance.assemble(cov_type, hess, jac, outer)
    unidentified = _diagnose(layout, covres, jac)
    boundary = _check_boundary(layout, np.asarray(u))
    cov = covres.cov.copy()
    on_boundary = np.isin(np.asarray(layout.names), boundary)
    cov[on_boundary, :] = np.nan
    cov[:, on_boundary] = np.nan
    return MLEResult(
        params=params_hat, cov=cov, hessian=theta_hess, loglik=float(ll), log_prior=float(prior), nobs=n,
        converged=status == _status.CONVERGED, n_iter=n_iter,
        grad_norm=float(relative_gradient(jnp.asarray(-grad), jnp.asarray(z), f)), status=_status.message(status),
        method="newton-stream", cov_type=cov_type, names=layout.names, fixed=layout.fixed_theta,
        unidentified=unidentified, boundary=boundary, is_map=log_prior is not None, n_groups=None,
        info={"n_halvings": halvings, "curvature_min": float(lam[0]), "curvature_max": float(lam[-1]),
              "information_min_eig": float(covres.info_min_eig)},
        _layout=layout, _config=cfg, _scalar=False,
        _u=np.asarray(u, dtype=np.float64), _hess_z=hess,
    )
