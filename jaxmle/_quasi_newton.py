"""Gradient-based solvers driven by optax: BFGS, L-BFGS and any ``optax.GradientTransformation``.

* ``"lbfgs"`` is optax's :func:`optax.lbfgs` (two-loop recursion, zoom line search with the
  strong Wolfe conditions), used as documented, recycling the line search's value and gradient.
* ``"bfgs"`` keeps the dense inverse-Hessian approximation ``B`` and applies the BFGS update
  (Nocedal & Wright, eq. 6.17), ``B+ = (I - rho s y^T) B (I - rho y s^T) + rho s s^T`` with
  ``rho = 1 / y^T s`` (skipped unless ``y^T s > 0``), starting from the scaled identity
  ``B0 = (y^T s / y^T y) I`` after the first step (eq. 6.20); the step length comes from optax's
  zoom line search, exactly as in optax's L-BFGS.
* A user-given optax transformation (Adam, SGD, ...) runs on the *mean* negative log-likelihood
  (so learning rates do not depend on n) until the gradient criterion or ``max_iter``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._driver import with_gradient_status


class BFGSState(NamedTuple):
    inv_hessian: jax.Array
    prev_params: jax.Array
    prev_grad: jax.Array
    count: jax.Array


def scale_by_bfgs() -> optax.GradientTransformation:
    """Optax transformation returning the BFGS direction ``-B g`` for flat parameter vectors."""

    def init(params):
        k = params.shape[0]
        return BFGSState(jnp.eye(k, dtype=params.dtype), params, jnp.zeros_like(params), jnp.zeros((), jnp.int32))

    def update(grads, state, params=None):
        s = params - state.prev_params
        y = grads - state.prev_grad
        sy = s @ y
        eye = jnp.eye(params.shape[0], dtype=params.dtype)
        scale0 = jnp.where(sy > 0, sy / jnp.maximum(y @ y, jnp.finfo(y.dtype).tiny), 1.0)
        b = jnp.where(state.count == 1, eye * scale0, state.inv_hessian)
        rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
        left = eye - rho * jnp.outer(s, y)
        b_new = left @ b @ left.T + rho * jnp.outer(s, s)
        b = jnp.where((state.count > 0) & (sy > 1e-12 * jnp.linalg.norm(s) * jnp.linalg.norm(y)), b_new, b)
        # First step: the capped reciprocal gradient norm, as optax's L-BFGS does.
        first = jnp.minimum(1.0, 1.0 / jnp.maximum(jnp.linalg.norm(grads), jnp.finfo(grads.dtype).tiny))
        direction = jnp.where(state.count == 0, -first * grads, -(b @ grads))
        return direction, BFGSState(b, params, grads, state.count + 1)

    return optax.GradientTransformation(init, update)


def bfgs(max_linesearch_steps: int = 30) -> optax.GradientTransformationExtraArgs:
    return optax.chain(scale_by_bfgs(), optax.scale_by_zoom_linesearch(max_linesearch_steps=max_linesearch_steps))


class OptaxState(NamedTuple):
    z: jax.Array
    f: jax.Array
    g: jax.Array
    n_iter: jax.Array
    status: jax.Array
    stalled: jax.Array
    opt_state: Any


@dataclasses.dataclass(frozen=True)
class OptaxSolver:
    """Drive an optax transformation. ``linesearch=True`` for transformations that store the
    line search's value and gradient in their state (L-BFGS, BFGS); ``mean_loss`` scales the
    objective by ``1/sum(w)``."""

    transformation: Any
    linesearch: bool = False
    mean_loss: bool = False

    def _scale(self, obj):
        if not self.mean_loss or obj.spec.scalar:
            return 1.0
        return 1.0 / jnp.maximum(jnp.sum(obj.weights), 1.0)

    def init(self, obj, z0, tol, max_iter, verbose=False) -> OptaxState:
        f, g = obj.value_and_grad(z0, self._scale(obj))
        return with_gradient_status(OptaxState(z0, f, g, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                                            jnp.array(False), self.transformation.init(z0)), tol, max_iter, verbose)

    def step(self, obj, state: OptaxState, tol, max_iter, verbose=False) -> OptaxState:
        scale = self._scale(obj)

        def value_fn(z):
            return obj.value(z, scale)

        if isinstance(self.transformation, optax.GradientTransformationExtraArgs):
            updates, opt_state = self.transformation.update(
                state.g, state.opt_state, state.z, value=state.f, grad=state.g, value_fn=value_fn
            )
        else:
            updates, opt_state = self.transformation.update(state.g, state.opt_state, state.z)
        z = state.z + updates
        if self.linesearch:
            f, g = optax.value_and_grad_from_state(value_fn)(z, state=opt_state)
        else:
            f, g = obj.value_and_grad(z, scale)
        new = state._replace(z=z, f=f, g=g, n_iter=state.n_iter + 1, opt_state=opt_state, stalled=jnp.all(updates == 0))
        return with_gradient_status(new, tol, max_iter, verbose)

    def curvature_range(self, state):
        nan = jnp.full((), jnp.nan, state.z.dtype)
        return nan, nan
