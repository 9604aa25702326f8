"""Second-order solvers: damped Newton, Fisher scoring and BHHH.

All three take the step ``d = -M^+ g`` on the objective ``f = -log L`` with a backtracking
(Armijo) line search, and differ only in the curvature matrix ``M``:

* ``"newton"``: the exact Hessian of ``f``. Where it is not positive definite the step uses the
  eigenvalue-modified matrix ``V |Lambda| V^T`` (|eigenvalues|, floored), which turns uphill
  curvature into descent, and adds a move along the most negative-curvature eigenvector, so the
  iteration never stops at a saddle point (``converged`` also requires ``H`` positive definite).
* ``"fisher"``: expected information ``J^T I(theta) J`` (plus the prior's Hessian).
* ``"bhhh"``: outer product of the per-observation scores ``sum_i w_i s_i s_i^T`` (plus the prior's
  Hessian) — Berndt, Hall, Hall and Hausman (1974).

Non-finite trial values are rejected by the line search (the step is halved).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _status
from ._driver import decide_status, log_iteration
from ._numerics import all_finite, at_rounding_level, relative_gradient, relative_size

# Eigenvalues below EIG_FLOOR * max|eig| are floored when the step is computed.
EIG_FLOOR = 1e-13
# A Hessian eigenvalue below -NEG_CURV_TOL * max|eig| counts as negative curvature (saddle).
NEG_CURV_TOL = 1e-8
# At a finite maximum Newton's steps shrink quadratically (linearly, by a factor (2m-1)/(2m), at a
# degenerate maximum like -theta^(2m): 2/3 for a quartic). A gradient that is small only because
# the log-likelihood flattens out towards infinity (e.g. perfect separation) meets the gradient
# test while the next Newton step stays as large as the last one (ratio -> 1): that is reported as
# UNBOUNDED when the next step in the real-support parameters is above FLAT_STEP (relative) and
# above FLAT_RATIO times the last step. (A bounded parameter running to its bound is a boundary
# estimate instead, reported by maximize's boundary check.)
FLAT_STEP = 1e-6
FLAT_RATIO = 0.9
ARMIJO_C = 1e-4


class NewtonState(NamedTuple):
    z: jax.Array
    f: jax.Array
    g: jax.Array
    curv: jax.Array
    n_iter: jax.Array
    status: jax.Array
    stalled: jax.Array
    n_halvings: jax.Array
    step_size: jax.Array
    last_step: jax.Array  # relative size max_j |s_j| / max(|z_j|, 1) of the last accepted step


@dataclasses.dataclass(frozen=True)
class SecondOrderSolver:
    """``curvature`` is "hessian" (Newton), "expected" (Fisher scoring) or "opg" (BHHH)."""

    curvature: str = "hessian"
    max_halvings: int = 40

    def evaluate(self, obj, z):
        """Return (f, g, M) at ``z``."""
        if self.curvature == "hessian":
            return obj.value_grad_hessian(z)
        if self.curvature == "expected":
            f, g = obj.value_and_grad(z)
            return f, g, obj.expected_information(z) - obj.prior_hessian(z)
        # BHHH: per-observation scores and contributions in one forward-mode pass (per chunk).
        loglik, score, outer = obj.outer_product(z)
        prior_val, prior_grad = jax.value_and_grad(obj.log_prior)(z)
        f = -(loglik + prior_val)
        g = -(score + prior_grad)
        m = outer - obj.prior_hessian(z)
        return jnp.where(jnp.isnan(f), jnp.inf, f), g, m

    def init(self, obj, z0, tol, max_iter, verbose=False) -> NewtonState:
        """Nothing is evaluated here: the first ``step`` evaluates at ``z0`` (one compiled copy of
        the curvature computation, inside the loop)."""
        k, dtype = z0.shape[0], z0.dtype
        zero = jnp.zeros((), jnp.int32)
        nan = jnp.full((), jnp.nan, dtype)
        return NewtonState(z0, nan, jnp.zeros((k,), dtype), jnp.zeros((k, k), dtype), zero,
                           zero + _status.RUNNING, jnp.array(False), zero, jnp.ones((), dtype), jnp.zeros((), dtype))

    def direction(self, g, lam, vec):
        """Modified Newton direction from the eigendecomposition ``M = V diag(lam) V^T``."""
        scale = jnp.max(jnp.abs(lam))
        floor = jnp.maximum(scale * EIG_FLOOR, jnp.finfo(lam.dtype).tiny)
        lam_mod = jnp.maximum(jnp.abs(lam), floor)
        gv = vec.T @ g
        d = -vec @ (gv / lam_mod)
        negative = lam[0] < -NEG_CURV_TOL * scale
        v = vec[:, 0]
        sign = jnp.where(g @ v > 0, -1.0, 1.0)
        escape = sign * v * jnp.maximum(jnp.linalg.norm(d), 1.0)
        return jnp.where(negative, d + escape, d)

    def step(self, obj, state: NewtonState, tol, max_iter, verbose=False) -> NewtonState:
        """Evaluate (f, g, M) at ``state.z``, decide the status, and move while still running."""
        z = state.z
        f, g, m = self.evaluate(obj, z)
        lam, vec = jnp.linalg.eigh(m)
        log_iteration(verbose, state.n_iter, f, g, z)
        converged = self.converged(z, f, g, lam, vec, tol)
        status = decide_status(all_finite(f, g, m), converged, state.stalled, state.n_iter, max_iter)
        positive, newton = newton_step(g, lam, vec)  # the next Newton step is -newton
        status = self.with_unbounded(obj.layout, status, z, newton, state.last_step)
        running = status == _status.RUNNING

        def move(_):
            # under vmap both branches run for every fit: a finished fit must not keep the batch's
            # line search going (its result is discarded by the select)
            return self.line_search(obj, z, f, g, self.direction(g, lam, vec), active=running)

        def stay(_):
            # On convergence with an exact, positive definite Hessian take the final Newton step
            # z - H^-1 g without evaluating again: it is tiny (the gradient criterion holds) and
            # squares the remaining error, so estimates reach machine precision for free. f, g and
            # the curvature in the state stay those of the last evaluation.
            polish = (status == _status.CONVERGED) & positive
            if self.curvature == "hessian":
                z_final = jnp.where(polish & jnp.all(jnp.isfinite(newton)), z - newton, z)
            else:
                z_final = z
            return z_final, jnp.array(True), jnp.zeros((), jnp.int32), jnp.zeros((), z.dtype)

        z_new, ok, halvings, t = jax.lax.cond(running, move, stay, None)
        return NewtonState(
            z=z_new, f=f, g=g, curv=m, n_iter=state.n_iter + running.astype(jnp.int32), status=status,
            stalled=~ok, n_halvings=state.n_halvings + halvings, step_size=t,
            last_step=jnp.where(running & ok, relative_size(z_new - z, z), state.last_step),
        )

    def line_search(self, obj, z, f, g, d, active=True):
        """Backtracking (Armijo) from t = 1 along ``d``; non-finite values are rejected. With
        ``active`` False (a finished fit in a vmapped batch) no trial is evaluated.

        Returns ``(z_new, accepted, halvings, step)``; ``z_new = z`` when nothing was accepted."""
        gd = jnp.minimum(g @ d, 0.0)
        eps = jnp.finfo(f.dtype).eps

        def accept(f_new, magnitude, t):
            # f's rounding error scales with the terms summed into it, not with |f| (cancellation)
            slack = 10 * eps * jnp.maximum(jnp.abs(f), magnitude)
            return jnp.isfinite(f_new) & (f_new <= f + ARMIJO_C * t * gd + slack)

        def cond(c):
            t, f_new, magnitude, k = c
            return active & (~accept(f_new, magnitude, t)) & (k < self.max_halvings)

        def body(c):
            t, _, _, k = c
            t = jnp.where(k < 0, 1.0, 0.5 * t)  # the first pass tries the full step
            f_new, magnitude = obj.value_and_magnitude(z + t * d)
            return t, f_new, magnitude, k + 1

        init = (jnp.ones((), z.dtype), jnp.full((), jnp.inf, z.dtype), jnp.zeros((), z.dtype),
                jnp.full((), -1, jnp.int32))
        t, f_new, magnitude, k = jax.lax.while_loop(cond, body, init)
        ok = accept(f_new, magnitude, t)
        return jnp.where(ok, z + t * d, z), ok, k, jnp.where(ok, t, 0.0)

    def converged(self, z, f, g, lam, vec, tol):
        """Relative gradient <= tol, or (with M positive definite) a Newton step below the rounding
        level of z (|d_j| <= 10 eps max(|z_j|, 1)), where floating point allows no further
        progress. Newton also requires the Hessian to be positive definite (no saddle point)."""
        scale = jnp.max(jnp.abs(lam))
        small = relative_gradient(g, z, f) <= tol
        positive, step = newton_step(g, lam, vec)
        done = small | (positive & at_rounding_level(step, z))
        if self.curvature != "hessian":
            return done
        return done & (lam[0] >= -NEG_CURV_TOL * scale)

    def unbounded(self, layout, z, newton, last_step):
        """Whether a converged fit's next Newton step ``newton`` (in the real-support parameters)
        stays above ``FLAT_STEP`` and above ``FLAT_RATIO`` times the last accepted step
        (``last_step``, relative): no finite maximum (see ``FLAT_STEP``). Newton only, and only
        after a Newton step (``last_step > 0``): without one there is no ratio to judge."""
        mask = layout.unbounded_free
        if self.curvature != "hessian" or not mask.any():
            return jnp.array(False)
        size = relative_size(jnp.where(mask, newton, 0.0), z)
        return (last_step > 0) & (size > FLAT_STEP) & (size > FLAT_RATIO * last_step)

    def with_unbounded(self, layout, status, z, newton, last_step):
        """``status`` with a converged or stalled fit whose next Newton step shows the signature of
        :meth:`unbounded` reported as ``UNBOUNDED``. A stall counts too: where the log-likelihood
        runs off to its supremum, its increments eventually fall below the rounding level of the
        sum (how soon depends on the platform's rounding), and the line search stops there."""
        finished = (status == _status.CONVERGED) | (status == _status.STALLED)
        flat = finished & self.unbounded(layout, z, newton, last_step)
        return jnp.where(flat, _status.UNBOUNDED, status).astype(jnp.int32)

    def curvature_range(self, state: NewtonState):
        lam = jnp.linalg.eigvalsh(state.curv)
        return lam[0], lam[-1]


def newton_step(g, lam, vec):
    """``(positive, step)``: whether ``M = V diag(lam) V^T`` is positive definite (eigenvalues above
    ``EIG_FLOOR`` times the largest), and ``M^-1 g`` (the Newton step is ``-step``)."""
    positive = lam[0] > EIG_FLOOR * jnp.max(jnp.abs(lam))
    return positive, vec @ ((vec.T @ g) / jnp.where(positive, lam, 1.0))
