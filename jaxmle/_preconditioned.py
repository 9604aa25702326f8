"""BFGS started from a known inverse Hessian: the batched solver of bootstrap replicates.

Replicates of a fit (bootstrap resamples, jackknife deletions) start at the full-sample estimate,
where the inverse Hessian ``B0 = H0^-1`` is already known, and their own Hessians differ from it
by O(n^-1/2). Starting BFGS from ``B0`` makes the first step the one-step (chord-Newton) update,
and the later BFGS updates correct the remaining O(n^-1/2) curvature error, so each replicate
converges superlinearly at the cost of one *gradient* per iteration: no batched Hessian, which
under ``vmap`` costs ~k times more.

One gradient evaluation per loop pass, and nothing else: the program holds a single copy of the
model's derivative (no value-and-gradient line search, no nested loop), which halves what XLA
compiles and JAX batches (tenth session, ``benchmarks/RESULTS.md``). A pass evaluates the
gradient ``g1`` at the trial point ``z + t d`` (``d = -B g``) and judges it by gradients alone:
accepted when

* ``g1.d <= (1 - 2c) |g.d|``: the Armijo condition of the quadratic model through both
  directional derivatives (``f(z + t d) - f(z) ~ t (g + g1).d / 2 <= c t g.d``; exact for a
  quadratic, Hager and Zhang's "approximate Armijo"), and
* ``g1' B g1 < g' B g``: the Newton decrement falls (the step heads to a minimum, not across a
  ridge or towards a saddle),

or when the trial point already meets the convergence test (there both tests compare numbers at
the gradient's rounding level). Near the optimum, where replicates live, the full step passes.
Otherwise ``t`` is halved, at most ``max_halvings`` times; where no step passes (negative
curvature along ``d``, a model far from quadratic) the replicate stops as ``STALLED`` and
:func:`jaxmle.bootstrap` polishes it by exact, value-safeguarded Newton, which is what a
separate :func:`jaxmle.maximize` of the replicate does. Where the gradient at the start is not
given, the first pass evaluates it there (``t = 0``). Accepted steps update ``B`` by BFGS:
``B+ = (I - rho s y') B (I - rho y s') + rho s s'`` (``s = t d``, ``y = g1 - g``,
``rho = 1/y's``, skipped unless ``y's > 0``). ``f`` in the state is the start's value carried
forward by the trapezoid rule ``f + (g + g1).s / 2``; it only scales the relative gradient.

Converged: relative gradient <= tol, as every other solver, so each replicate reaches its own
optimum; one last step ``z - B g`` is then taken without evaluating. That step must be
negligible on the scale of the sampling error (``||B g||_H0 <= FLAT_STEP`` full-sample standard
errors): a log-likelihood that keeps rising along a flat direction (the MLE at infinity, e.g. a
perfectly separated resample) also has a vanishing gradient, but its next step stays large, and
it is reported as ``UNBOUNDED`` instead of converged.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _status
from ._driver import with_gradient_status
from ._numerics import at_rounding_level, relative_gradient

ARMIJO_C = 1e-4
# Largest final quasi-Newton step, in full-sample standard errors, of a converged replicate.
FLAT_STEP = 1e-3
# Halvings of a step before the replicate is left to the exact Newton polish (a step 1/1024 of
# the quasi-Newton one means its curvature model is far off).
MAX_HALVINGS = 10


class PreconditionedState(NamedTuple):
    z: jax.Array  # (k,) the current point
    f: jax.Array  # the objective at z (carried by the trapezoid rule)
    g: jax.Array  # (k,) its gradient at z (zeros before the first pass)
    inv_hessian: jax.Array  # (k, k) B
    d: jax.Array  # (k,) the quasi-Newton direction -B g
    t: jax.Array  # the trial step length along d: 0 before the first pass, then 1, 1/2, ...
    halvings: jax.Array  # halvings of the current step
    n_iter: jax.Array  # accepted steps
    status: jax.Array
    stalled: jax.Array


@dataclasses.dataclass(frozen=True)
class PreconditionedBFGS:
    """``inv_hessian0``: (k, k) positive definite starting inverse Hessian ``B0`` of the objective;
    ``hessian0``: its inverse ``H0`` (the metric of the flatness test); ``start``: ``(f, g)`` at the
    starting point when already known (e.g. from full-sample contributions and scores), else f is
    evaluated there and g by the first pass."""

    inv_hessian0: jax.Array
    hessian0: jax.Array
    start: tuple | None = None
    max_halvings: int = MAX_HALVINGS

    def init(self, obj, z0, tol, max_iter, verbose=False) -> PreconditionedState:
        if self.start is None:  # the first pass evaluates the gradient at z0 itself (t = 0)
            f, g, d, t = obj.value(z0), jnp.zeros_like(z0), jnp.zeros_like(z0), 0.0
        else:
            (f, g), t = self.start, 1.0
            d = -(self.inv_hessian0 @ g)
        zero = jnp.zeros((), jnp.int32)
        return PreconditionedState(
            z=z0, f=jnp.asarray(f, z0.dtype), g=g, inv_hessian=self.inv_hessian0,
            d=d, t=jnp.full((), t, z0.dtype), halvings=zero, n_iter=zero,
            status=jnp.full((), _status.RUNNING, jnp.int32), stalled=jnp.array(False),
        )

    def step(self, obj, state: PreconditionedState, tol, max_iter, verbose=False) -> PreconditionedState:
        z, f, g, b, d, t = state.z, state.f, state.g, state.inv_hessian, state.d, state.t
        first = t == 0  # the gradient at the start itself
        x = z + t * d
        _, g1, _ = obj.value_grad_magnitude(x)  # the value is unused: compiled away
        gd, g1d = g @ d, g1 @ d  # gd = -g' B g < 0
        f1 = f + 0.5 * t * (gd + g1d)
        descent = (g1d <= (1 - 2 * ARMIJO_C) * jnp.abs(gd)) & (g1 @ (b @ g1) < -gd)
        accept = first | (jnp.all(jnp.isfinite(g1)) & (descent | (relative_gradient(g1, x, f1) <= tol)))
        s = t * d
        y = g1 - g
        sy = s @ y
        rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
        left = jnp.eye(z.shape[0], dtype=z.dtype) - rho * jnp.outer(s, y)
        update = accept & (sy > 1e-12 * jnp.linalg.norm(s) * jnp.linalg.norm(y))
        b_new = jnp.where(update, left @ b @ left.T + rho * jnp.outer(s, s), b)
        halvings = jnp.where(accept, 0, state.halvings + 1)
        new = PreconditionedState(
            z=jnp.where(accept, x, z), f=jnp.where(accept, f1, f), g=jnp.where(accept, g1, g), inv_hessian=b_new,
            d=jnp.where(accept, -(b_new @ g1), d), t=jnp.where(accept, 1.0, 0.5 * t).astype(t.dtype),
            halvings=halvings, n_iter=state.n_iter + (accept & ~first), status=state.status,
            stalled=halvings > self.max_halvings,
        )
        # converged at relative gradient <= tol, or where the next quasi-Newton step is below the
        # rounding level of z (float32 stops there, as Newton does in jaxmle.maximize)
        tiny = at_rounding_level(new.d, new.z)
        return self._finish(with_gradient_status(new, tol, max_iter, verbose, at_rounding_level=tiny))

    def _finish(self, state: PreconditionedState) -> PreconditionedState:
        """On convergence take the quasi-Newton step ``z - B g`` once more without evaluating (B is
        within O(n^-1/2) of the inverse Hessian, so the remaining error shrinks by that factor at
        no cost), unless that step is not negligible: then the maximum is not finite (UNBOUNDED)."""
        step = state.d
        size = jnp.sqrt(jnp.abs(step @ (self.hessian0 @ step)))
        converged = state.status == _status.CONVERGED
        flat = converged & ~(size <= FLAT_STEP)
        take = converged & ~flat & jnp.all(jnp.isfinite(step))
        status = jnp.where(flat, _status.UNBOUNDED, state.status).astype(jnp.int32)
        return state._replace(z=jnp.where(take, state.z + step, state.z), status=status)
