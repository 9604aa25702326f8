"""BFGS started from a known inverse Hessian: the batched solver of bootstraps and profiles.

Replicates of a fit (bootstrap resamples, jackknife deletions, nearby profile points) start at
the full-sample estimate, where the inverse Hessian ``B0 = H^-1`` is already known, and their own
Hessians differ from it by O(n^-1/2). Starting BFGS from ``B0`` (instead of the identity) makes
the first step the one-step (chord-Newton) update and the later BFGS updates correct the
remaining O(n^-1/2) curvature error, so each replicate converges superlinearly at the cost of one
*gradient* per iteration: no batched Hessian, which under ``vmap`` costs ~k times more.

Step: ``d = -B g``; backtracking (Armijo) on ``t`` from 1, each trial evaluating value *and*
gradient together (a full step, the usual case, then costs a single evaluation); then the BFGS
update ``B+ = (I - rho s y^T) B (I - rho y s^T) + rho s s^T`` (``s = t d``, ``y = g+ - g``,
``rho = 1/y^T s``, skipped unless ``y^T s > 0``). Converged: relative gradient <= tol, as every
other solver, so each replicate reaches its own optimum; one last step ``z - B g`` is then taken
without evaluating (the state's f and g stay those of the last evaluation).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _status
from ._driver import with_gradient_status

ARMIJO_C = 1e-4


class PreconditionedState(NamedTuple):
    z: jax.Array
    f: jax.Array
    g: jax.Array
    inv_hessian: jax.Array
    n_iter: jax.Array
    status: jax.Array
    stalled: jax.Array
    n_halvings: jax.Array


@dataclasses.dataclass(frozen=True)
class PreconditionedBFGS:
    """``inv_hessian0``: (k, k) positive definite starting inverse Hessian of the objective."""

    inv_hessian0: jax.Array
    max_halvings: int = 40

    def init(self, obj, z0, tol, max_iter, verbose=False) -> PreconditionedState:
        f, g = self._value_and_grad(obj, z0)
        zero = jnp.zeros((), jnp.int32)
        state = PreconditionedState(z0, f, g, self.inv_hessian0, zero, zero, jnp.array(False), zero)
        return with_gradient_status(state, tol, max_iter, verbose)

    @staticmethod
    def _value_and_grad(obj, z):
        f, g, _ = obj.value_grad_magnitude(z)
        return f, g

    def step(self, obj, state: PreconditionedState, tol, max_iter, verbose=False) -> PreconditionedState:
        z, f, g, b = state.z, state.f, state.g, state.inv_hessian
        d = -(b @ g)
        gd = g @ d

        eps = jnp.finfo(f.dtype).eps

        def accept(f_new, g_new, magnitude, t):
            # f's rounding error scales with the terms summed into it, not with |f| (cancellation)
            slack = 10 * eps * jnp.maximum(jnp.abs(f), magnitude)
            return jnp.isfinite(f_new) & jnp.all(jnp.isfinite(g_new)) & (f_new <= f + ARMIJO_C * t * gd + slack)

        def cond(c):
            t, f_new, g_new, magnitude, k = c
            return (~accept(f_new, g_new, magnitude, t)) & (k < self.max_halvings)

        def body(c):
            t, _, _, _, k = c
            t = jnp.where(k < 0, 1.0, 0.5 * t)
            f_new, g_new, magnitude = obj.value_grad_magnitude(z + t * d)
            return t, f_new, g_new, magnitude, k + 1

        # one compiled evaluation site: the loop's first pass tries the full step t = 1
        inf = jnp.full((), jnp.inf, z.dtype)
        init = (jnp.ones((), z.dtype), inf, g, jnp.zeros((), z.dtype), jnp.full((), -1, jnp.int32))
        t, f_new, g_new, magnitude, k = jax.lax.while_loop(cond, body, init)
        ok = accept(f_new, g_new, magnitude, t)
        s = t * d
        y = g_new - g
        sy = s @ y
        rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
        left = jnp.eye(z.shape[0], dtype=z.dtype) - rho * jnp.outer(s, y)
        b_new = jnp.where(ok & (sy > 1e-12 * jnp.linalg.norm(s) * jnp.linalg.norm(y)),
                          left @ b @ left.T + rho * jnp.outer(s, s), b)
        new = PreconditionedState(
            z=jnp.where(ok, z + s, z), f=jnp.where(ok, f_new, f), g=jnp.where(ok, g_new, g), inv_hessian=b_new,
            n_iter=state.n_iter + 1, status=state.status, stalled=~ok, n_halvings=state.n_halvings + k,
        )
        new = with_gradient_status(new, tol, max_iter, verbose)
        # On convergence take the quasi-Newton step z - B g once more without evaluating: B is
        # within O(n^-1/2) of the inverse Hessian, so the remaining error shrinks by that factor
        # (to ~1e-10 from a tolerance of 1e-8 in the bootstrap benchmark) at no cost.
        final = new.z - new.inv_hessian @ new.g
        take = (new.status == _status.CONVERGED) & jnp.all(jnp.isfinite(final))
        return new._replace(z=jnp.where(take, final, new.z))

    def curvature_range(self, state):
        nan = jnp.full((), jnp.nan, state.z.dtype)
        return nan, nan
