"""``jaxmle.make_solver``: the pure, jit- and vmap-able solve at the heart of :func:`maximize`.

``maximize`` validates, solves and assembles covariances eagerly. When many fits are needed
(one per group, per simulated data set, per start) use the same compiled solve directly::

    solve = jaxmle.make_solver(loglik, params0, constraints={"sigma": "positive"})
    with jax.enable_x64(True):            # float64 inside your own jit/vmap
        sols = jax.vmap(solve)(starts, batched_data)
    sols.params, sols.converged            # leading batch axis

The returned function is pure: no validation, warnings or host callbacks inside, and status is
data (``Solution.status``, one code per fit under ``vmap``), so one failure never aborts a batch.
It runs under the caller's JAX settings (x64 included), except that the model's matrix products
are traced at full precision, as in ``maximize``: a GPU's default TensorFloat-32 float32 products
(~1e-3 relative) are too coarse for Newton to settle.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from . import _pytree, _status
from ._covariance import BATCH_COV_TYPES, batch_assemble
from ._engine import fit_static_args
from ._setup import FitConfig, configure


class Solution(NamedTuple):
    """Result of one pure solve (a pytree; every field gains a leading axis under ``vmap``).

    Attributes:
      params: estimates, same structure as ``params0`` (constrained).
      loglik: weighted log-likelihood at the estimate (scalar), without the prior;
        ``log_posterior`` adds the log prior (equal to ``loglik`` without one).
      converged: bool; ``status`` the code (0 converged, 1 iteration limit, 2 stalled, 3 non-finite,
        4 no finite maximum).
      n_iter: iterations taken; ``grad_norm`` the final relative gradient.
      cov: (k, k) covariance of the flat constrained parameters (in the order of
        ``jax.tree_util.tree_leaves(params)``, each leaf raveled: ``solver.config.layout.names``) when the solver
        was made with a ``cov_type``, else None; all NaN where the needed matrix is singular or
        indefinite. Standard errors: ``jnp.sqrt(jnp.diagonal(cov, axis1=-2, axis2=-1))``.
    """

    params: Any
    loglik: jax.Array
    log_posterior: jax.Array
    converged: jax.Array
    status: jax.Array
    n_iter: jax.Array
    grad_norm: jax.Array
    cov: Any = None


@dataclasses.dataclass(frozen=True)
class Solver:
    """A pure solve for a fixed model, method and parameter layout; see :func:`make_solver`."""

    config: FitConfig
    cov_type: str = "none"

    def __call__(self, params0, data=None, weights=None) -> Solution:
        """Solve from ``params0`` on ``data`` (with frequency ``weights`` (n,) if given). The model
        is traced with full-precision matrix products (no TensorFloat-32 on GPUs), as in
        :func:`jaxmle.maximize`, also inside the caller's ``jit``."""
        with jax.default_matmul_precision("highest"):
            return self._solve(params0, data, weights)

    def _solve_held(self, params0, data, weights, pin) -> Solution:
        """The solve of ``__call__`` with the free values where the bool mask ``pin`` (k_free,) is
        set held at their start (a dynamic mask: one compiled solve serves every mask; see
        :class:`jaxmle._objective.Objective`); ``Solution.params`` holds them exactly. For
        ``cov_type="none"`` (:mod:`jaxmle._profile`)."""
        if self.cov_type != "none":
            raise ValueError("held solves return no covariance: make the solver with cov_type='none'")
        with jax.default_matmul_precision("highest"):
            return self._solve(params0, data, weights, pin)

    def _solve(self, params0, data, weights, pin=None) -> Solution:
        cfg = self.config
        params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=cfg.dtype), params0)
        scalar = jax.eval_shape(cfg.loglik, params, data).shape == ()
        if weights is None:
            leaves = jax.tree_util.tree_leaves(data)
            n = leaves[0].shape[0] if leaves else max(jax.eval_shape(cfg.loglik, params, data).shape + (1,))
            weights = jnp.ones((n,), cfg.dtype)
        weights = jnp.asarray(weights, cfg.dtype)
        cfg = cfg.for_data(params, data, weights.shape[0])
        engine = cfg.engine(scalar)
        tol, max_iter = jnp.asarray(cfg.tol, cfg.dtype), jnp.asarray(cfg.max_iter, jnp.int32)
        cov = None
        if self.cov_type == "none":
            out = engine.solve(cfg.layout.unconstrain(params), data, weights, tol, max_iter, pin)
        else:
            out, _, parts = engine.fit(params, data, weights, tol, max_iter, None, **fit_static_args(self.cov_type))
            cov = batch_assemble(self.cov_type, parts)
        return Solution(
            params=cfg.layout.constrain(out.u),
            loglik=out.loglik,
            log_posterior=out.log_posterior,
            converged=out.status == _status.CONVERGED,
            status=out.status,
            n_iter=out.n_iter,
            grad_norm=out.grad_norm,
            cov=cov,
        )


def make_solver(
    loglik: Callable,
    params0: Any,
    *,
    method="newton",
    constraints=None,
    log_prior: Callable | None = None,
    fixed=None,
    tol: float = 1e-10,
    max_iter: int | None = None,
    options: dict | None = None,
    expected_info: Callable | None = None,
    dtype: str = "float64",
    cov_type: str = "none",
    chunk_size: int | None = None,
    hessian: str = "auto",
) -> Solver:
    """Return a pure function ``solve(params0, data=None, weights=None) -> Solution``.

    Arguments mean what they mean in :func:`maximize` (``params0`` here fixes the parameter
    structure, shapes, supports and fixed mask; each call passes its own start). The function can
    be ``jax.jit``-ed and ``jax.vmap``-ed over starts, data and weights; it reuses the compiled
    solve of ``maximize`` for the same model. For float64 under your own transformations, call it
    inside ``with jax.enable_x64(True):``. ``cov_type`` ("oim", "opg", "robust", "expected"; default
    "none") adds each fit's covariance to the :class:`Solution` (cluster-robust needs ``maximize``);
    ``chunk_size`` evaluates sums over observations chunk by chunk and ``hessian`` chooses how
    Hessians are computed, as in :func:`maximize`.
    """
    if cov_type not in BATCH_COV_TYPES:
        raise ValueError(f"cov_type: unknown {cov_type!r} for make_solver; expected one of {', '.join(BATCH_COV_TYPES)}")
    params0 = _pytree.from_series(params0)
    cfg = configure(
        loglik, params0, method=method, constraints=constraints, log_prior=log_prior, fixed=fixed, tol=tol,
        max_iter=max_iter, options=options, expected_info=expected_info, dtype=dtype,
        needs_expected=cov_type == "expected", chunk_size=chunk_size, hessian=hessian,
    )
    return Solver(cfg, cov_type)
