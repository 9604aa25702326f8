"""BFGS started from a known inverse Hessian: the batched solver of bootstrap replicates.

Replicates of a fit (bootstrap resamples, jackknife deletions) start at the full-sample estimate,
where the inverse Hessian ``B0 = H0^-1`` is already known, and their own Hessians differ from it
by O(n^-1/2). Starting BFGS from ``B0`` makes the first step the one-step (chord-Newton) update,
and the later BFGS updates correct the remaining O(n^-1/2) curvature error, so each replicate
converges superlinearly at the cost of one *gradient* per iteration: no batched Hessian, which
under ``vmap`` costs ~k times more.

Step: ``d = -B g``. The full step is first judged by its gradient ``g1`` alone (no value):
accepted when ``g1.d <= (1 - 2c) |g.d|`` (the Armijo condition of the quadratic model through
both directional derivatives: exact for a quadratic, Hager and Zhang's "approximate Armijo")
and the Newton decrement falls, ``g1' B g1 < g' B g``, or when the trial point already meets the
convergence test (where both compare numbers at the gradient's rounding level). Near the optimum, where replicates live,
that is almost every step, and a gradient costs less than a value and gradient (the value's
reduction, and often duplicated transcendental work, are dropped). Otherwise a backtracking
Armijo search on values takes over (its first evaluation re-reads f at ``z``; under ``vmap`` it
runs only when some replicate needs it). Then the BFGS update
``B+ = (I - rho s y') B (I - rho y s') + rho s s'`` (``s = t d``, ``y = g+ - g``,
``rho = 1/y's``, skipped unless ``y's > 0``). ``f`` in the state is the last evaluated value
carried forward by the trapezoid rule ``f + (g + g1).d / 2`` over gradient-judged steps; it only
scales the relative gradient.

Converged: relative gradient <= tol, as every other solver, so each replicate reaches its own
optimum; one last step ``z - B g`` is then taken without evaluating. That step must be
negligible on the scale of the sampling error (``||B g||_H0 <= FLAT_STEP`` full-sample standard
errors): a log-likelihood that keeps rising along a flat direction (the MLE at infinity, e.g. a
perfectly separated resample) also has a vanishing gradient, but its next step stays large, and
it is reported as ``UNBOUNDED`` instead of converged.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from . import _status
from ._driver import with_gradient_status
from ._numerics import at_rounding_level, relative_gradient

ARMIJO_C = 1e-4
# Largest final quasi-Newton step, in full-sample standard errors, of a converged replicate.
FLAT_STEP = 1e-3


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
    """``inv_hessian0``: (k, k) positive definite starting inverse Hessian ``B0`` of the objective;
    ``hessian0``: its inverse ``H0`` (the metric of the flatness test); ``start``: ``(f, g)`` at the
    starting point when already known (e.g. from full-sample scores), else evaluated."""

    inv_hessian0: jax.Array
    hessian0: jax.Array
    start: Optional[tuple] = None
    max_halvings: int = 40

    def init(self, obj, z0, tol, max_iter, verbose=False) -> PreconditionedState:
        if self.start is None:
            f, g, _ = obj.value_grad_magnitude(z0)
        else:
            f, g = self.start
        zero = jnp.zeros((), jnp.int32)
        state = PreconditionedState(z0, f, g, self.inv_hessian0, zero, zero, jnp.array(False), zero)
        return self._finish(self._status(state, tol, max_iter, verbose))

    def step(self, obj, state: PreconditionedState, tol, max_iter, verbose=False) -> PreconditionedState:
        z, f, g, b = state.z, state.f, state.g, state.inv_hessian
        d = -(b @ g)
        gd = g @ d  # = -g' B g < 0
        _, g1, _ = obj.value_grad_magnitude(z + d)  # the value is unused: compiled away
        descent = (g1 @ d <= -(1 - 2 * ARMIJO_C) * gd) & (g1 @ (b @ g1) < -gd)
        # a trial that meets the convergence test is taken as well: there both tests above
        # compare numbers at the rounding level of the gradient
        by_gradient = jnp.all(jnp.isfinite(g1)) & (descent | (relative_gradient(g1, z + d, f) <= tol))
        # under vmap the step also runs for finished replicates (its result is discarded): they must
        # not keep the batch's backtracking loop going
        done = state.status != _status.RUNNING
        t, f_new, g_new, halvings, ok = self._backtrack(obj, z, d, gd, by_gradient | done)
        t = jnp.where(by_gradient, 1.0, t)
        f_new = jnp.where(by_gradient, f + 0.5 * (gd + g1 @ d), f_new)
        g_new = jnp.where(by_gradient, g1, g_new)
        ok = by_gradient | ok
        s = t * d
        y = g_new - g
        sy = s @ y
        rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
        left = jnp.eye(z.shape[0], dtype=z.dtype) - rho * jnp.outer(s, y)
        b_new = jnp.where(ok & (sy > 1e-12 * jnp.linalg.norm(s) * jnp.linalg.norm(y)),
                          left @ b @ left.T + rho * jnp.outer(s, s), b)
        new = PreconditionedState(
            z=jnp.where(ok, z + s, z), f=jnp.where(ok, f_new, f), g=jnp.where(ok, g_new, g), inv_hessian=b_new,
            n_iter=state.n_iter + 1, status=state.status, stalled=~ok, n_halvings=state.n_halvings + halvings,
        )
        return self._finish(self._status(new, tol, max_iter, verbose))

    @staticmethod
    def _status(state, tol, max_iter, verbose):
        """Converged at relative gradient <= tol, or where the next quasi-Newton step is below the
        rounding level of z (float32 stops there, as Newton does in :func:`jaxmle.maximize`)."""
        tiny = at_rounding_level(state.inv_hessian @ state.g, state.z)
        return with_gradient_status(state, tol, max_iter, verbose, at_rounding_level=tiny)

    def _backtrack(self, obj, z, d, gd, skip):
        """Armijo backtracking on values along ``d`` (t = 1, 1/2, ...), unless ``skip``.

        The first pass evaluates f at ``z`` itself (the state's f may be carried forward), so the
        loop has a single evaluation site. Returns ``(t, f, g, halvings, accepted)``."""
        eps = jnp.finfo(z.dtype).eps

        def accept(c):
            k, t, f_ref, m_ref, f_new, g_new, m_new = c
            # f's rounding error scales with the terms summed into it, not with |f| (cancellation)
            slack = 10 * eps * jnp.maximum(jnp.abs(f_ref), jnp.maximum(m_ref, m_new))
            return (k >= 1) & jnp.isfinite(f_new) & jnp.all(jnp.isfinite(g_new)) & (
                f_new <= f_ref + ARMIJO_C * t * gd + slack)

        def cond(c):
            return (~skip) & (~accept(c)) & (c[0] <= self.max_halvings)

        def body(c):
            k, t, f_ref, m_ref, _, _, _ = c
            t = jnp.where(k < 0, 0.0, jnp.where(k == 0, 1.0, 0.5 * t))
            f_new, g_new, m_new = obj.value_grad_magnitude(z + t * d)
            f_ref, m_ref = jnp.where(k < 0, f_new, f_ref), jnp.where(k < 0, m_new, m_ref)
            return k + 1, t, f_ref, m_ref, f_new, g_new, m_new

        zero = jnp.zeros((), z.dtype)
        init = (jnp.full((), -1, jnp.int32), zero, zero, zero, jnp.full((), jnp.inf, z.dtype), jnp.zeros_like(z), zero)
        c = jax.lax.while_loop(cond, body, init)
        return c[1], c[4], c[5], jnp.maximum(c[0] - 1, 0), accept(c)

    def _finish(self, state: PreconditionedState) -> PreconditionedState:
        """On convergence take the quasi-Newton step ``z - B g`` once more without evaluating (B is
        within O(n^-1/2) of the inverse Hessian, so the remaining error shrinks by that factor at
        no cost), unless that step is not negligible: then the maximum is not finite (UNBOUNDED)."""
        step = state.inv_hessian @ state.g
        size = jnp.sqrt(jnp.abs(step @ (self.hessian0 @ step)))
        converged = state.status == _status.CONVERGED
        flat = converged & ~(size <= FLAT_STEP)
        take = converged & ~flat & jnp.all(jnp.isfinite(step))
        status = jnp.where(flat, _status.UNBOUNDED, state.status).astype(jnp.int32)
        return state._replace(z=jnp.where(take, state.z - step, state.z), status=status)

    def curvature_range(self, state):
        nan = jnp.full((), jnp.nan, state.z.dtype)
        return nan, nan
