"""Second-order solvers: damped Newton, Fisher scoring and BHHH.

All three take the step ``d = -M^+ g`` on the objective ``f = -log L`` with a backtracking
(Armijo) line search, and differ only in the curvature matrix ``M``:

* ``"newton"``: the exact Hessian of ``f``. Where it is not positive definite, the directions of
  positive curvature keep their Newton step while along the negative and nearly flat ones the
  eigenvalues are raised (to at least ``|lambda_min|``) so that the step there is no longer than
  the Newton part, plus a bounded move along the most negative-curvature eigenvector near a
  saddle's stable manifold: uphill curvature is turned into descent and the iteration never stops
  at a saddle point (``converged`` also requires ``H`` positive definite); see
  :func:`modified_newton_direction`. The eigenvalues are those of the Jacobi-scaled matrix
  ``S M S`` (unit diagonal, :func:`scaled_eigh`), so these tests do not depend on the parameters'
  units: a coefficient of 1e-7 next to one of 1 gives Hessian eigenvalues 1e14 apart, which
  unscaled would read as singular.
* ``"fisher"``: expected information ``J^T I(theta) J`` (plus the prior's Hessian).
* ``"bhhh"``: outer product of the per-observation scores ``sum_i w_i s_i s_i^T`` (plus the prior's
  Hessian) — Berndt, Hall, Hall and Hausman (1974).

Non-finite trial values are rejected by the line search (the step is halved). Each iteration
evaluates (f, g, M) once; near the maximum that evaluation is at the full step itself and also
decides its acceptance, so an iteration costs one pass over the data rather than two (see
:class:`SecondOrderSolver`). The accepted points are those of plain backtracking.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _status
from ._driver import decide_status, log_iteration
from ._numerics import all_finite, at_rounding_level, relative_gradient, relative_size, rounding_level

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


def flat_step(dtype) -> float:
    """``FLAT_STEP``, or ``sqrt(eps)`` of ``dtype`` where that is larger (float32: 3.5e-4): at the
    maximum, float32's gradient noise alone makes Newton steps of 1e-6..1e-5 that need not shrink,
    which read as no finite maximum for a t regression."""
    return max(FLAT_STEP, float(jnp.finfo(dtype).eps) ** 0.5)
FLAT_RATIO = 0.9
ARMIJO_C = 1e-4
# The next full Newton step is evaluated with the curvature at once (speculatively) when the
# quadratic model predicted the last step's decrease of f to within this fraction.
MODEL_FIT = 0.25


class NewtonState(NamedTuple):
    z: jax.Array  # the last accepted point, where f, g and curv were evaluated (once converged: polished)
    f: jax.Array
    g: jax.Array
    curv: jax.Array
    n_iter: jax.Array
    status: jax.Array
    stalled: jax.Array
    n_halvings: jax.Array
    step_size: jax.Array  # t of the trial (1: the full step)
    last_step: jax.Array  # relative size max_j |s_j| / max(|z_j|, 1) of the last accepted step, at the z it led to
    trial: jax.Array  # the point the next step evaluates: z + t d
    direction: jax.Array  # d
    slope: jax.Array  # g . d at z (<= 0)
    forced: jax.Array  # accept the trial without the Armijo test (the start; a point found by the search)
    eigenvalues: jax.Array  # of the Jacobi-scaled curv (unit diagonal, see scaled_eigh), ascending
    excess: jax.Array  # f(trial) - f of the last trial the Armijo test rejected (0 if none since the last point)
    walled: jax.Array  # a trial since the last accepted point had a non-finite value


@dataclasses.dataclass(frozen=True)
class SecondOrderSolver:
    """``curvature`` is "hessian" (Newton), "expected" (Fisher scoring) or "opg" (BHHH).

    Each iteration evaluates (f, g, M) once. Near the maximum, where the quadratic model is good
    and the full Newton step passes the Armijo test, that evaluation is at the trial point
    ``z + d`` itself and serves as the Armijo test's value too: a line search that evaluated f at the
    trial first would cost an extra pass over the data per iteration. Far from it, a value-only
    backtracking line search finds the step first (see :meth:`advance`)."""

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
        zeros = jnp.zeros((k,), dtype)
        return NewtonState(z0, nan, zeros, jnp.zeros((k, k), dtype), zero, zero + _status.RUNNING, jnp.array(False),
                           zero, jnp.ones((), dtype), jnp.zeros((), dtype), z0, zeros, jnp.zeros((), dtype),
                           jnp.array(True), zeros, jnp.zeros((), dtype), jnp.array(False))

    def direction(self, g, eig: Eigen, z, last_move=None):
        """:func:`modified_newton_direction` at ``z`` (traced)."""
        return modified_newton_direction(g, eig, z, last_move)

    def step(self, obj, state: NewtonState, tol, max_iter, verbose=False) -> NewtonState:
        """One evaluation of (f, g, M), at ``state.trial``. An accepted trial (Armijo, or ``forced``:
        found by a line search, or the start) becomes the new point, where the status is decided
        and the next step set up (:meth:`advance`). Then, where the next trial is not the
        speculative full step, or the full step just failed, a value-only backtracking line search
        finds it (from t = 1, or from t = 1/2 along the rejected step)."""
        ft, gt, mt = self.evaluate(obj, state.trial)
        # (the rounding allowance uses |f|: the magnitude of f's terms would cost a second reduction
        # over the data in this evaluation; a full step rejected by rounding is searched on values,
        # where the magnitude is used)
        accepted = state.forced | self.sufficient_decrease(state.f, ft, jnp.abs(ft), state.step_size, state.slope)
        if verbose:  # the accepted points only: a rejected trial is not an iteration
            jax.lax.cond(accepted, lambda: log_iteration(verbose, state.n_iter, ft, gt, state.trial), lambda: None)
        advanced, speculate = self.advance(obj, state, ft, gt, mt, tol, max_iter)
        # a cond rather than selects: its operands are computed once (selects would each get a copy
        # of the status logic fused in: compile time)
        new = jax.lax.cond(accepted, lambda _: advanced, lambda _: state, None)
        search = (new.status == _status.RUNNING) & ~(accepted & speculate)
        rejected = (~accepted).astype(jnp.int32)  # the rejected full step counts as a halving

        def move(_):
            # under vmap both branches run for every fit: only fits that search evaluate trials
            return self.line_search(obj, new.z, new.f, new.slope, new.direction, t0=jnp.where(accepted, 1.0, 0.5),
                                    max_halvings=self.max_halvings - rejected, active=search)

        def keep(_):
            no = jnp.array(False)
            return new.trial, jnp.array(True), jnp.zeros((), jnp.int32), new.step_size, jnp.zeros_like(ft), no

        trial, ok, halvings, t, searched_excess, searched_wall = jax.lax.cond(search, move, keep, None)
        # how far above f the rejected short trials came out: where the iteration gets stuck, the
        # measure of f's noise (see converged); new.excess is 0 at a newly accepted point
        noisy = ~accepted & jnp.isfinite(ft) & measures_noise(state.trial - state.z, state.z)
        excess = jnp.maximum(jnp.maximum(new.excess, searched_excess), jnp.where(noisy, ft - state.f, 0.0))
        walled = new.walled | searched_wall | (~accepted & ~jnp.isfinite(ft))
        return new._replace(trial=trial, forced=search, stalled=search & ~ok, step_size=jnp.where(ok, t, new.step_size),
                            n_halvings=new.n_halvings + rejected + halvings, excess=excess, walled=walled)

    def advance(self, obj, state: NewtonState, f, g, m, tol, max_iter):
        """Accept the trial (where ``f, g, m`` were evaluated), decide the status there and set up
        the next Newton step. Returns ``(state, speculate)``: ``speculate`` says whether the next
        full step is to be evaluated with the curvature at once (so that, accepted, it costs one
        evaluation). It is when the quadratic model predicted the last step's decrease of f to
        within ``MODEL_FIT``, or the predicted decrease is below ``sqrt(eps) |f|`` (the end of a
        fit); otherwise, far from the maximum, the step is searched on values first, so that a
        rejected full step does not cost a curvature evaluation."""
        z = state.trial
        moved = ~jnp.isnan(state.f)  # (nothing accepted before the first evaluation)
        last_step = jnp.where(moved & ~state.stalled, relative_size(z - state.z, z), state.last_step)
        eig = scaled_eigh(m)
        # a step accepted at z's rounding level (not a failed line search, which leaves z in place too:
        # at a kink, e.g. an exact L1 penalty, every trial is rejected for the kink's sake)
        stuck = moved & ~state.stalled & at_rounding_level(z - state.z, state.z)
        t, d_last = state.step_size, state.direction
        predicted = -(t * state.slope + 0.5 * t * t * (d_last @ state.curv @ d_last))  # the last step's decrease
        settled = moved & (t == 1) & (predicted <= rounding_level(f))
        converged = self.converged(z, f, g, eig, tol, stuck=stuck, noise=state.excess, settled=settled)
        status = decide_status(all_finite(f, g, m), converged, state.stalled, state.n_iter, max_iter)
        # a stall where trials hit non-finite values: a wall of overflow, not a flat rise (not judged by
        # with_unbounded: a naive log(1 - sigmoid) read as "no finite maximum")
        status = jnp.where((status == _status.STALLED) & state.walled, _status.WALL, status).astype(jnp.int32)
        positive, newton = newton_step(g, eig)  # the next Newton step is -newton
        level = state.excess <= rounding_level(jnp.maximum(jnp.abs(f), 1.0))
        status = self.with_unbounded(obj.layout, status, z, newton, last_step, level)
        running = status == _status.RUNNING
        d = self.direction(g, eig, z, z - state.z)
        # On convergence with an exact, positive definite Hessian take the final Newton step
        # z - H^-1 g without evaluating again: it is tiny (the gradient criterion holds) and
        # squares the remaining error, so estimates reach machine precision for free. f, g and
        # the curvature in the state stay those of the last evaluation, so only where the gain
        # the step predicts is below sqrt(eps) max(|f|, 1): the reported log-likelihood is then that of the
        # returned estimates to ~1e-8 relative (with tol=1 it was 42 below it).
        polish = ((status == _status.CONVERGED) & positive & (self.curvature == "hessian")
                  & (0.5 * (g @ newton) <= jnp.sqrt(jnp.finfo(f.dtype).eps) * jnp.maximum(jnp.abs(f), 1.0)))
        z_final = jnp.where(polish & jnp.all(jnp.isfinite(newton)), z - newton, z)
        tiny = predicted <= jnp.sqrt(jnp.finfo(f.dtype).eps) * jnp.abs(f)
        speculate = ~moved | tiny | (jnp.abs((state.f - f) - predicted) <= MODEL_FIT * predicted)
        return NewtonState(
            z=jnp.where(running, z, z_final), f=f, g=g, curv=m, n_iter=state.n_iter + running.astype(jnp.int32),
            status=status, stalled=jnp.array(False), n_halvings=state.n_halvings,
            step_size=jnp.ones((), z.dtype), last_step=last_step, trial=z + d, direction=d,
            slope=jnp.minimum(g @ d, 0.0), forced=jnp.array(False), eigenvalues=eig.lam, excess=jnp.zeros_like(f),
            walled=jnp.array(False),
        ), speculate

    def sufficient_decrease(self, f, f_new, magnitude, t, slope):
        """Armijo's test of the trial value ``f_new`` at step ``t`` (``slope = g . d <= 0``); f's
        rounding error scales with the terms summed into it (``magnitude``), not with |f|
        (cancellation). Non-finite trial values fail."""
        slack = 10 * jnp.finfo(f.dtype).eps * jnp.maximum(jnp.abs(f), magnitude)
        return jnp.isfinite(f_new) & (f_new <= f + ARMIJO_C * t * slope + slack)

    def line_search(self, obj, z, f, slope, d, t0, max_halvings, active=True):
        """Backtracking (Armijo) along ``d`` from ``t = t0``, halving, on values alone; non-finite
        values are rejected. With ``active`` False (a fit in a vmapped batch that does not
        backtrack) no trial is evaluated.

        Returns ``(z_new, accepted, halvings, step, excess, wall)``: ``halvings`` counts the halvings
        after ``t0``; ``z_new = z`` when nothing was accepted within ``max_halvings`` halvings;
        ``excess`` is the largest ``f(trial) - f`` of the rejected finite trials short enough to
        measure f's noise (:func:`measures_noise`; 0 if none); ``wall`` whether a trial's value was
        not finite."""

        def cond(c):
            t, f_new, magnitude, k = c[:4]
            return active & (~self.sufficient_decrease(f, f_new, magnitude, t, slope)) & (k < max_halvings)

        def body(c):
            t, f_prev, magnitude_prev, k, excess, wall = c
            # (the previous trial, at step t, rejected since cond let us in)
            rejected = (k >= 0) & jnp.isfinite(f_prev) & measures_noise(t * d, z)
            excess = jnp.where(rejected, jnp.maximum(excess, f_prev - f), excess)
            wall = wall | ((k >= 0) & ~jnp.isfinite(f_prev))
            t = jnp.where(k < 0, t, 0.5 * t)  # the first pass tries t0
            f_new, magnitude = obj.value_and_magnitude(z + t * d)
            return t, f_new, magnitude, k + 1, excess, wall

        zero = jnp.zeros((), z.dtype)
        init = (jnp.asarray(t0, z.dtype), jnp.full((), jnp.inf, z.dtype), zero, jnp.full((), -1, jnp.int32), zero,
                jnp.array(False))
        t, f_new, magnitude, k, excess, wall = jax.lax.while_loop(cond, body, init)
        ok = self.sufficient_decrease(f, f_new, magnitude, t, slope)
        excess = jnp.where(ok | ~jnp.isfinite(f_new) | ~measures_noise(t * d, z), excess, jnp.maximum(excess, f_new - f))
        wall = wall | (active & ~ok & ~jnp.isfinite(f_new))
        return jnp.where(ok, z + t * d, z), ok, jnp.maximum(k, 0), jnp.where(ok, t, 0.0), excess, wall

    def converged(self, z, f, g, eig: Eigen, tol, stuck=False, noise=0.0, settled=False):
        """Relative gradient <= tol, or (with M positive definite) a Newton step below the rounding
        level of z (|d_j| <= 10 eps max(|z_j|, 1)), where floating point allows no further
        progress. Newton also requires the Hessian to be positive definite (no saddle point), and
        accepts a ``stuck`` point (the last accepted step was below the rounding level of z: the
        line search rejected every longer one) where the gain Newton predicts,
        ``g^T H^-1 g / 2``, is below f's noise: its rounding level ``10 eps |f|``, or the ``noise``
        measured there (how far above f a rejected trial came out); and a point reached by a full
        Newton step that predicted a gain below f's rounding level (``settled``) whose own gain is
        below it. ``eig``: the scaled eigensystem of M (:func:`scaled_eigh`). Returns a bool
        scalar."""
        scale = jnp.max(jnp.abs(eig.lam))
        small = relative_gradient(g, z, f) <= tol
        positive, step = newton_step(g, eig)
        done = small | (positive & at_rounding_level(step, z))
        if self.curvature != "hessian":
            return done
        # Where the log-likelihood's terms are less accurate than eps (special functions; a
        # per-observation constant's error times n), the gradient's noise can sit above tol where
        # no step can show a decrease any more: the Newton step is rejected on f's noise, and so is
        # every shorter one until the step is below z's rounding level, which passes (f is
        # unchanged) and leaves z where it was, for ever. The rejected trials measure the noise
        # (30 times the rounding level for a t regression at n = 500). (Only when stuck: stopping on
        # the gain alone would stop a step earlier than the gradient test, where the curvature kept
        # for the covariance is less accurate.) The final Newton step still polishes z.
        # Where the gradient's rounding noise is above tol the gradient test is out of reach, and
        # full Newton steps of that noise pass the Armijo test on f's noise: z wandered until
        # max_iter. float32 with the default tol=1e-10 (below its eps) is one case (12 of 80 float32
        # t regressions); an ill-conditioned float64 fit another (a covariate at 1e5 +- 1 beside an
        # intercept: eta = b0 + b1 x cancels 1e5-sized terms, and the relative gradient's noise is
        # ~1e-7). So a point reached by a full Newton step whose predicted gain was below f's
        # rounding level (``settled``) is converged where its own gain is too. Where the gradient
        # test is within reach it holds by then (the gain falls below the rounding level at errors
        # of sqrt(20 eps |f|) standard errors, 1e-6 at |f| = 300, and a full Newton step squares
        # that), so well-conditioned float64 fits stop where they did (the seventh session's hard
        # starts: the same 3875 iterations for 480 t regressions). Not at the point where the gain first fell below it:
        # its curvature, kept for the covariance, is a step away from the maximum (standard errors
        # 1.6% off in float32). Nor against the rejected trials' excess: away from the maximum
        # that measures f's nonlinearity, not its noise.
        rounding = rounding_level(f)
        gain = 0.5 * (g @ step)
        spent = positive & stuck & (gain <= jnp.maximum(rounding, noise))
        spent = spent | (positive & settled & (gain <= rounding))
        return (done | spent) & (eig.lam[0] >= -NEG_CURV_TOL * scale)

    def unbounded(self, layout, z, newton, last_step):
        """Whether a converged fit's next Newton step ``newton`` (in the real-support parameters)
        stays above ``FLAT_STEP`` (:func:`flat_step` of z's precision) and above ``FLAT_RATIO`` times
        the last accepted step (``last_step``, relative): no finite maximum (see ``FLAT_STEP``).
        Newton only, and only after a Newton step (``last_step > 0``): without one there is no
        ratio to judge."""
        mask = layout.unbounded_free
        if self.curvature != "hessian" or not mask.any():
            return jnp.array(False)
        size = relative_size(jnp.where(mask, newton, 0.0), z)
        return (last_step > 0) & (size > flat_step(z.dtype)) & (size > FLAT_RATIO * last_step)

    def with_unbounded(self, layout, status, z, newton, last_step, level=True):
        """``status`` with a converged or stalled fit whose next Newton step shows the signature of
        :meth:`unbounded` reported as ``UNBOUNDED``. A stall counts too: where the log-likelihood
        runs off to its supremum, its increments eventually fall below the rounding level of the
        sum (how soon depends on the platform's rounding), and the line search stops there; but
        only where its short rejected trials came out ``level`` with f (within its rounding): at a
        kink (the exact Laplace/LAD loss, an absolute value) they come out above it, and the steps
        that do not shrink are the kink's, not a flat rise."""
        finished = (status == _status.CONVERGED) | ((status == _status.STALLED) & level)
        flat = finished & self.unbounded(layout, z, newton, last_step)
        return jnp.where(flat, _status.UNBOUNDED, status).astype(jnp.int32)

    def curvature_range(self, state: NewtonState):
        return state.eigenvalues[0], state.eigenvalues[-1]

    def log_posterior(self, state: NewtonState):
        """The log posterior at ``state.z``: ``-f`` of the last evaluation, without evaluating again.
        (Where the final Newton step polished z, f changes by ``g^T H^-1 g / 2``: the gradient test
        holds, so that is far below f's rounding error.)"""
        return -state.f


class Eigen(NamedTuple):
    """The eigensystem of the Jacobi scaling ``S M S`` of a symmetric (k, k) matrix M, with
    ``S = diag(s)``: ``M = S^-1 V diag(lam) V^T S^-1``."""

    lam: jax.Array  # (k,) eigenvalues of S M S, ascending
    vec: jax.Array  # (k, k) orthonormal eigenvectors (columns)
    s: jax.Array  # (k,) 1 / sqrt(|M_jj|) (1 where M_jj is 0 or not finite)


def scaled_eigh(m, xp=jnp) -> Eigen:
    """:class:`Eigen` of ``m``: the eigendecomposition of ``m`` scaled to a unit diagonal. The scaling
    is a congruence, so the signs of the eigenvalues (definiteness, saddle points) are those of m,
    while their spread no longer includes the parameters' units. ``xp``: ``jax.numpy`` (traceable)
    or ``numpy`` (on the host)."""
    d = xp.abs(xp.diagonal(m))
    usable = (d > 0) & xp.isfinite(d)
    s = xp.where(usable, 1.0 / xp.sqrt(xp.where(usable, d, 1.0)), 1.0)
    scaled = m * s[:, None] * s[None, :]
    lam, vec = xp.linalg.eigh(0.5 * (scaled + scaled.T))
    return Eigen(lam, vec, s)


def modified_newton_direction(g, eig: Eigen, z, last_move=None, xp=jnp):
    """Descent direction for f at ``z`` from its gradient ``g`` and the scaled eigensystem ``eig`` of
    its curvature (:func:`scaled_eigh`), computed in the scaled coordinates ``z / s`` (where the
    curvature has a unit diagonal) and mapped back, so that it does not depend on the parameters'
    units. Returns a (k,) array; ``g``, ``z`` and ``last_move`` (the last accepted step, which led
    to ``z``; None or zeros at the start) are (k,). ``xp``: ``jax.numpy`` (traceable) or ``numpy``.

    * Positive (semi)definite curvature: the Newton step ``-M^-1 g`` (eigenvalues floored at
      ``EIG_FLOOR`` of the largest).
    * Negative curvature (smallest eigenvalue ``lambda_1 < -NEG_CURV_TOL`` of the largest): the
      eigenvalues are raised to at least ``delta = max(|lambda_1|, ||c_low|| / R)``, where
      ``c_low`` are the scaled gradient's components along the eigenvectors whose eigenvalue is
      below ``|lambda_1|`` (the negative and the nearly flat ones), and the radius
      ``R = max(||d_N||, 2 ||last_move||, 1)`` (scaled lengths) is the longest of the Newton step
      along the other eigenvectors (``d_N``), twice the last accepted step, and one scaled unit.
      Directions of positive curvature keep their Newton step; along the others the quadratic
      model has no minimum, and the step there is no longer than ``R``, which can double from one
      iteration to the next while the steps are accepted (a trust region's expansion) but not jump.
      With ``|eigenvalues|`` instead, an eigenvalue of -0.05 next to -0.3 made the step 20 times
      the gradient along it, and sent a t regression's degrees of freedom to 1e160 from a naive
      start; a nearly flat negative one is the same without a bound.
    * Near the saddle's stable manifold, where that step hardly moves along the
      negative-curvature eigenvector ``v``, the move along ``v`` is topped up to one scaled unit
      (downhill, away from the saddle), but to no more than a change of ``max(|z_j|, 1)`` in any
      coordinate: where a flat coordinate's curvature is slightly negative (a t regression's
      log nu at nu = 1e6), its scaled unit is a huge step.
    """
    lam, vec, s = eig
    scale = xp.max(xp.abs(lam))
    floor = xp.maximum(scale * EIG_FLOOR, xp.finfo(lam.dtype).tiny)
    negative = lam[0] < -NEG_CURV_TOL * scale
    along = vec.T @ (s * g)  # the scaled gradient in the eigenbasis
    low = lam < -lam[0]
    last = 0.0 if last_move is None else 2.0 * xp.linalg.norm(last_move / s)
    newton = xp.where(low, 0.0, along / xp.where(low | (lam <= 0), 1.0, lam))  # (lam > 0 there when negative)
    reach = xp.maximum(xp.maximum(xp.linalg.norm(newton), last), 1.0)
    delta = xp.maximum(-lam[0], xp.linalg.norm(xp.where(low, along, 0.0)) / reach)
    lam_mod = xp.where(negative, xp.maximum(lam, delta), xp.maximum(xp.abs(lam), floor))
    step = vec @ (along / lam_mod)  # d = -step, in the scaled coordinates
    v = vec[:, 0]
    top_up = xp.maximum(1.0 - xp.abs(step @ v), 0.0)
    sv = s * v
    top_up = xp.minimum(top_up, 1.0 / xp.maximum(relative_size(sv, z, xp), floor))
    sign = xp.where(along[0] > 0, -1.0, 1.0)
    return xp.where(negative, sign * top_up, 0.0) * sv - s * step


def measures_noise(step, z):
    """Whether a rejected trial ``z + step`` was short enough (relative size below ``sqrt(eps)``)
    for its excess ``f(trial) - f`` to measure f's noise: at a longer step the excess measures the
    curvature or a kink of f instead (an exact L1 penalty's rejected trials made a stall at the
    start look like noise, and converged)."""
    return relative_size(step, z) <= jnp.sqrt(jnp.finfo(z.dtype).eps)


def newton_step(g, eig: Eigen):
    """``(positive, step)``: whether M is positive definite (the eigenvalues of its scaling above
    ``EIG_FLOOR`` times the largest), and ``M^-1 g`` (the Newton step is ``-step``)."""
    lam, vec, s = eig
    positive = lam[0] > EIG_FLOOR * jnp.max(jnp.abs(lam))
    return positive, s * (vec @ ((vec.T @ (s * g)) / jnp.where(positive, lam, 1.0)))
