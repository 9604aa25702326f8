"""Compiled solve and inference functions, cached per model.

An :class:`Engine` is built once per (model, parameter layout, method, options) and holds jitted
functions of the *dynamic* inputs only (start, data, weights, tolerance, iteration limit), so a
second fit with the same loglik and shapes reuses the compiled code: no retracing.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import _compile
from ._driver import iterate
from ._layout import Layout
from ._newton import SecondOrderSolver
from ._numerics import relative_gradient
from ._objective import ModelSpec, Objective
from ._quasi_newton import OptaxSolver, bfgs

METHODS = ("newton", "fisher", "bhhh", "bfgs", "lbfgs")

# Method-specific options (the `options=` dict) and their defaults.
METHOD_OPTIONS = {
    "newton": {"max_halvings": 40},
    "fisher": {"max_halvings": 40},
    "bhhh": {"max_halvings": 40},
    "bfgs": {"max_linesearch_steps": 30},
    "lbfgs": {"memory_size": 10, "max_linesearch_steps": 30},
    "optax": {},
}


def make_solver(method, options: dict):
    """The solver object for ``method`` (a name or an optax transformation)."""
    if isinstance(method, str):
        if method in ("newton", "fisher", "bhhh"):
            curvature = {"newton": "hessian", "fisher": "expected", "bhhh": "opg"}[method]
            return SecondOrderSolver(curvature=curvature, max_halvings=int(options["max_halvings"]))
        if method == "bfgs":
            return OptaxSolver(bfgs(int(options["max_linesearch_steps"])), linesearch=True)
        if method == "lbfgs":
            transformation = optax.lbfgs(
                memory_size=int(options["memory_size"]),
                linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=int(options["max_linesearch_steps"])),
            )
            return OptaxSolver(transformation, linesearch=True)
    return OptaxSolver(method, linesearch=False, mean_loss=True)


class SolveOutput(NamedTuple):
    """What one compiled solve returns (a pytree; batched under ``vmap``)."""

    u: jax.Array  # full unconstrained parameters (k_u,)
    loglik: jax.Array  # weighted log-likelihood at the end (without the prior)
    log_posterior: jax.Array  # log L + log prior at the end
    n_iter: jax.Array
    status: jax.Array
    grad_norm: jax.Array  # relative gradient at the end
    curv_min: jax.Array  # extreme eigenvalues of the solver's curvature (NaN for optax methods)
    curv_max: jax.Array
    n_halvings: jax.Array  # total line-search step halvings (second-order methods)


class InferenceParts(NamedTuple):
    """Matrices at the estimate from which every covariance is assembled (eagerly, in NumPy)."""

    loglik: jax.Array
    log_prior: jax.Array
    hess_z: jax.Array  # Hessian of the log posterior in free z, (k_free, k_free)
    grad_z: jax.Array  # its gradient, (k_free,)
    hess_theta: jax.Array  # Hessian of the log posterior in theta, (k, k)
    jac: jax.Array  # d theta / d z, (k, k_free)
    meat: Any  # sum of outer products of (cluster-summed) scores, or None
    expected: Any  # expected information in z, or None
    prior_curvature: jax.Array  # minus the Hessian of the log prior in z, (k_free, k_free) (0 without a prior)


def fit_static_args(cov_type: str, n_groups: int | None = None) -> dict:
    """The static arguments of :meth:`Engine.fit` (and ``fit_batch``) for ``cov_type``: which
    matrices the compiled fit computes besides the Hessian (the scores' outer products for "opg" and
    "robust", the clusters' score sums for "cluster", the expected information for "expected")."""
    return {"meat_kind": {"opg": "opg", "robust": "opg", "cluster": "cluster"}.get(cov_type, "none"),
            "n_groups": n_groups or 0, "expected": cov_type == "expected"}


@dataclasses.dataclass(frozen=True)
class EngineKey:
    spec: ModelSpec
    layout: Layout
    method: Any
    options: tuple
    verbose: bool


class Engine:
    """Jitted functions for one :class:`EngineKey`.

    ``solve`` is the pure solve (``make_solver``, batched fits); ``fit`` is the solve followed by
    the matrices needed for any covariance, in one compiled call that reuses the last Newton
    Hessian rather than computing it again.
    """

    def __init__(self, key: EngineKey):
        self.key = key
        self.solver = make_solver(key.method, dict(key.options))
        self.solve = jax.jit(self._solve)  # also called inside user jits (make_solver): no compiler options
        self.fit = _compile.jit(self._fit, static_argnames=("meat_kind", "n_groups", "expected"))
        self.fit_batch = _compile.jit(self._fit_batch, static_argnames=("meat_kind", "n_groups", "expected"))
        self.start_check = _compile.jit(self._start_check)
        self.score_check = _compile.jit(self._score_check)
        self.evaluate_at = _compile.jit(self._evaluate_at)

    def objective(self, u0, data, weights, pin=None) -> Objective:
        return Objective(self.key.spec, self.key.layout, u0, data, weights, pin)

    def _run(self, u0, data, weights, tol, max_iter, pin=None):
        obj = self.objective(u0, data, weights, pin)
        verbose = self.key.verbose and log_label(self.key.spec, self.solver)
        state = iterate(self.solver, obj, self.key.layout.free_part(u0), tol, max_iter, verbose)
        lo, hi = self.solver.curvature_range(state)
        log_prior = obj.log_prior(state.z)
        if isinstance(self.solver, SecondOrderSolver):  # known from the last evaluation
            log_posterior = self.solver.log_posterior(state)
            loglik = log_posterior - log_prior
        else:
            loglik = obj.loglik(state.z)
            log_posterior = loglik + log_prior
        out = SolveOutput(
            u=self.key.layout.insert_free(obj.held(state.z), u0),
            loglik=loglik,
            log_posterior=log_posterior,
            n_iter=state.n_iter,
            status=state.status,
            grad_norm=relative_gradient(state.g, state.z, state.f),
            curv_min=lo,
            curv_max=hi,
            n_halvings=getattr(state, "n_halvings", jnp.zeros((), jnp.int32)),
        )
        return obj, state, out

    def _solve(self, u0, data, weights, tol, max_iter, pin=None) -> SolveOutput:
        """The solve from ``u0``; ``pin`` (a bool mask over the free values, or None) holds those
        values at their start (see :class:`Objective`): one compiled solve for any mask."""
        return self._run(u0, data, weights, tol, max_iter, pin)[2]

    def _fit(self, params0, data, weights, tol, max_iter, codes, *, meat_kind: str, n_groups: int, expected: bool):
        """Solve from ``params0`` (a pytree), then the :class:`InferenceParts` at the estimate.

        Returns ``(out, params, parts)``. ``meat_kind``: "none", "opg" (sum_i w_i s_i s_i^T) or
        "cluster" (sum over groups of the weighted score sums). A start where the objective is not
        finite ends the solve at once with status NONFINITE and ``n_iter`` 0; :meth:`start_check`
        then says why (kept out of this program: it would add a model evaluation to compile)."""
        u0 = self.key.layout.unconstrain(params0)
        obj, state, out = self._run(u0, data, weights, tol, max_iter)
        z = state.z
        if isinstance(self.solver, SecondOrderSolver) and self.solver.curvature == "hessian":
            hess_z, grad_z = -state.curv, -state.g  # exact, evaluated at z by the last step
        else:
            _, g, h = obj.value_grad_hessian(z)
            hess_z, grad_z = -h, -g
        jac = obj.theta_jacobian(z)
        meat = None
        if meat_kind == "opg":
            meat = obj.outer_product(z)[2]
        elif meat_kind == "cluster":
            sums = obj.cluster_score_sums(z, codes, n_groups)
            meat = sums.T @ sums
        parts = InferenceParts(
            loglik=out.loglik,
            log_prior=out.log_posterior - out.loglik,
            hess_z=hess_z,
            grad_z=grad_z,
            hess_theta=self._theta_hessian(obj, z, hess_z, grad_z, data, weights),
            jac=jac,
            meat=meat,
            # (with a prior, its curvature added: the Laplace approximation, as for Fisher scoring)
            expected=obj.expected_information(z) - obj.prior_hessian(z) if expected else None,
            prior_curvature=-obj.prior_hessian(z),
        )
        return out, self.key.layout.constrain(out.u), parts

    def _fit_batch(self, params0, data, weights, tol, max_iter, codes, *, meat_kind: str, n_groups: int,
                   expected: bool):
        """:meth:`_fit` from each of a batch of starts (every leaf of ``params0`` with a leading batch
        axis) on the same data, in one ``vmap``: ``(out, params, parts)`` with that leading axis
        (:func:`jaxmle.multistart`: the best start's fit is then a slice, compiled once with the rest)."""
        return jax.vmap(lambda p0: self._fit(p0, data, weights, tol, max_iter, codes, meat_kind=meat_kind,
                                             n_groups=n_groups, expected=expected))(params0)

    def _evaluate_at(self, u0, z, data, weights):
        """``(f, g, H)`` of the objective ``f = -log posterior`` at the free values ``z`` (fixed values
        from ``u0``): for checks after a fit, compiled only when one needs it."""
        return self.objective(u0, data, weights).value_grad_hessian(z)

    def _start_check(self, params0, data, weights):
        """``(n_bad, first, log_prior)`` at ``params0``: the number of non-finite contributions, the
        first (up to 5) of their indices (-1 padded) and the log prior. A summary, not the (n,)
        vector: nothing of size n leaves the devices."""
        u0 = self.key.layout.unconstrain(params0)
        obj0, z0 = self.objective(u0, data, weights), self.key.layout.free_part(u0)
        bad = ~jnp.isfinite(jnp.ravel(obj0.contributions(z0)))
        return jnp.sum(bad), jnp.nonzero(bad, size=5, fill_value=-1)[0], obj0.log_prior(z0)

    def _score_check(self, params0, data, weights):
        """``(n_bad, first)`` at ``params0``: how many observations have a non-finite score (the
        gradient of their contribution in the free parameters) and the first (up to 5) of them (-1
        padded); for a scalar loglik, whether its gradient is not finite (first: -1). For the
        failure path of a start whose contributions are finite: compiled only there."""
        u0 = self.key.layout.unconstrain(params0)
        obj, z0 = self.objective(u0, data, weights), self.key.layout.free_part(u0)
        if self.key.spec.scalar:
            bad = ~jnp.all(jnp.isfinite(jax.grad(obj.loglik)(z0)))[None]
            return jnp.sum(bad), jnp.full((5,), -1)
        scores, _ = obj._chunk_scores(z0, data)
        bad = ~jnp.all(jnp.isfinite(scores), axis=1)
        return jnp.sum(bad), jnp.nonzero(bad, size=5, fill_value=-1)[0]

    def _theta_hessian(self, obj, z, hess_z, grad_z, data, weights):
        """Hessian of the log posterior in the flat constrained parameters, (k, k).

        For elementwise supports with nothing fixed, theta_j = t_j(z_j) and the chain rule
        ``H_z = J H_theta J + diag(g_theta * t'')`` (J = diag t') is inverted in closed form, so no
        second Hessian of the data is computed; otherwise it is computed directly."""
        layout = self.key.layout
        if chain_rule_applies(layout):
            return theta_hessian_by_chain_rule(layout, obj.u0, z, hess_z, grad_z)

        def log_post_theta(th):
            params = layout.unflatten(th)
            c = jnp.asarray(self.key.spec.loglik(params, data))
            ll = c if self.key.spec.scalar else jnp.sum(c * weights)
            lp = 0.0 if self.key.spec.log_prior is None else self.key.spec.log_prior(params)
            return ll + lp

        return jax.hessian(log_post_theta)(layout.theta_from_z(z, obj.u0))


def log_label(spec: ModelSpec, solver) -> str:
    """What the iteration log (``verbose=True``) prints: the log-likelihood, the log posterior of a
    MAP fit, or their mean per unit weight for optax methods (which minimise the mean loss)."""
    name = "log posterior" if spec.log_prior is not None else "log-likelihood"
    mean = isinstance(solver, OptaxSolver) and solver.mean_loss and not spec.scalar
    return f"mean {name} per unit weight" if mean else name


def chain_rule_applies(layout: Layout) -> bool:
    """True when every parameter is free and maps elementwise (theta_j = t_j(z_j))."""
    return layout.k_free == layout.k and all(sup.elementwise for sup in layout.supports)


def theta_hessian_by_chain_rule(layout: Layout, u0, z, hess_z, grad_z):
    """Hessian in theta from the Hessian ``hess_z`` and gradient ``grad_z`` in z, inverting
    ``H_z = J H_theta J + diag(g_theta * t'')`` with ``J = diag t'`` (needs :func:`chain_rule_applies`)."""
    ones = jnp.ones_like(z)

    def theta_fn(zz):
        return layout.theta_from_z(zz, u0)

    def d1_fn(zz):
        return jax.jvp(theta_fn, (zz,), (ones,))[1]

    d1, d2 = jax.jvp(d1_fn, (z,), (ones,))
    g_theta = grad_z / d1
    return (hess_z - jnp.diag(g_theta * d2)) / (d1[:, None] * d1[None, :])


@functools.lru_cache(maxsize=128)
def get_engine(key: EngineKey) -> Engine:
    return Engine(key)
