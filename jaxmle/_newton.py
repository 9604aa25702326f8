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

from ._numerics import relative_gradient

# Eigenvalues below EIG_FLOOR * max|eig| are floored when the step is computed.
EIG_FLOOR = 1e-13
# A Hessian eigenvalue below -NEG_CURV_TOL * max|eig| counts as negative curvature (saddle).
NEG_CURV_TOL = 1e-8
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
        # BHHH: per-observation scores and contributions in one forward-mode pass.
        scores, contrib = jax.jacfwd(lambda zz: (obj.contributions(zz),) * 2, has_aux=True)(z)
        w = obj.weights
        prior_val, prior_grad = jax.value_and_grad(obj.log_prior)(z)
        f = -(jnp.sum(w * contrib) + prior_val)
        g = -(scores.T @ w + prior_grad)
        m = scores.T @ (w[:, None] * scores) - obj.prior_hessian(z)
        return jnp.where(jnp.isnan(f), jnp.inf, f), g, m

    def init(self, obj, z0) -> NewtonState:
        f, g, m = self.evaluate(obj, z0)
        zero = jnp.zeros((), jnp.int32)
        return NewtonState(z0, f, g, m, zero, zero - 1, jnp.array(False), zero, jnp.ones((), z0.dtype))

    def direction(self, g, m):
        lam, vec = jnp.linalg.eigh(m)
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

    def step(self, obj, state: NewtonState) -> NewtonState:
        d = self.direction(state.g, state.curv)
        gd = state.g @ d
        slack = 10 * jnp.finfo(state.f.dtype).eps * jnp.abs(state.f)

        def accept(f_new, t):
            return jnp.isfinite(f_new) & (f_new <= state.f + ARMIJO_C * t * jnp.minimum(gd, 0.0) + slack)

        def cond(c):
            t, f_new, k = c
            return (~accept(f_new, t)) & (k < self.max_halvings)

        def body(c):
            t, _, k = c
            t = 0.5 * t
            return t, obj.value(state.z + t * d), k + 1

        t0 = jnp.ones((), state.z.dtype)
        t, f_new, k = jax.lax.while_loop(cond, body, (t0, obj.value(state.z + d), jnp.zeros((), jnp.int32)))
        ok = accept(f_new, t)
        z_new = jnp.where(ok, state.z + t * d, state.z)
        f, g, m = self.evaluate(obj, z_new)
        return state._replace(
            z=z_new, f=f, g=g, curv=m, n_iter=state.n_iter + 1, stalled=~ok,
            n_halvings=state.n_halvings + k, step_size=jnp.where(ok, t, 0.0),
        )

    def converged(self, state: NewtonState, tol):
        """Relative gradient <= tol, or (with M positive definite) a Newton step below the rounding
        level of z (|d_j| <= 10 eps max(|z_j|, 1)), where floating point allows no further
        progress. Newton also requires the Hessian to be positive definite (no saddle point)."""
        lam, vec = jnp.linalg.eigh(state.curv)
        scale = jnp.max(jnp.abs(lam))
        small = relative_gradient(state.g, state.z, state.f) <= tol
        positive = lam[0] > EIG_FLOOR * scale
        step = vec @ ((vec.T @ state.g) / jnp.where(positive, lam, 1.0))
        eps = jnp.finfo(state.z.dtype).eps
        tiny_step = jnp.max(jnp.abs(step) / jnp.maximum(jnp.abs(state.z), 1.0)) <= 10 * eps
        done = small | (positive & tiny_step)
        if self.curvature != "hessian":
            return done
        return done & (lam[0] >= -NEG_CURV_TOL * scale)

    def curvature_range(self, state: NewtonState):
        lam = jnp.linalg.eigvalsh(state.curv)
        return lam[0], lam[-1]
