"""The objective the solvers minimise, built from the user's model inside a traced function.

``f(z) = -scale * (sum_i w_i loglik_i(theta(z)) + log_prior(theta(z)))`` where ``z`` holds the free
unconstrained values (see :mod:`jaxmle._layout`). ``scale`` is 1 for the likelihood methods and
``1 / sum(w)`` for first-order optax methods, whose learning rates expect a mean loss.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import jax
import jax.numpy as jnp

from ._layout import Layout


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Static description of the user's model (hashable: it keys the compiled-solver cache)."""

    loglik: Callable
    log_prior: Optional[Callable] = None
    expected_info: Optional[Callable] = None
    expected_takes_weights: bool = False
    scalar: bool = False  # loglik returns the total, not per-observation contributions


class Objective:
    """Closures over (u0, data, weights) for one fit; create inside the traced function."""

    def __init__(self, spec: ModelSpec, layout: Layout, u0, data, weights):
        self.spec, self.layout, self.u0, self.data, self.weights = spec, layout, u0, data, weights

    def params(self, z):
        return self.layout.params_from_z(z, self.u0)

    def contributions(self, z) -> jax.Array:
        """Unweighted per-observation log-likelihood contributions, shape (n,)."""
        return jnp.asarray(self.spec.loglik(self.params(z), self.data))

    def loglik(self, z) -> jax.Array:
        """Weighted total log-likelihood (scalar)."""
        c = self.contributions(z)
        if self.spec.scalar:
            return c
        return jnp.sum(c * self.weights)

    def log_prior(self, z) -> jax.Array:
        if self.spec.log_prior is None:
            return jnp.zeros((), self.u0.dtype)
        return jnp.asarray(self.spec.log_prior(self.params(z)))

    def log_posterior(self, z) -> jax.Array:
        return self.loglik(z) + self.log_prior(z)

    def value(self, z, scale=1.0) -> jax.Array:
        """The minimised objective: ``-scale * log_posterior``; NaN is mapped to +inf."""
        f = -scale * self.log_posterior(z)
        return jnp.where(jnp.isnan(f), jnp.inf, f)

    def value_and_magnitude(self, z, scale=1.0):
        """``(value(z), m)`` with ``m = scale (sum_i |w_i loglik_i| + |log prior|)``: the size of the
        terms summed into f, which sets its rounding error (f itself may be small by cancellation)."""
        c = self.contributions(z)
        prior = self.log_prior(z)
        if self.spec.scalar:
            ll, mag = c, jnp.abs(c)
        else:
            ll, mag = jnp.sum(c * self.weights), jnp.sum(jnp.abs(c * self.weights))
        f = -scale * (ll + prior)
        mag = scale * (mag + jnp.abs(prior))
        return jnp.where(jnp.isnan(f), jnp.inf, f), jnp.where(jnp.isfinite(mag), mag, 0.0)

    def value_grad_magnitude(self, z):
        """``(f, g, m)``: value and gradient of the objective and the magnitude of
        :meth:`value_and_magnitude`, in one reverse pass."""
        (f, m), g = jax.value_and_grad(lambda zz: self.value_and_magnitude(zz), has_aux=True)(z)
        return f, g, m

    # ---- derivatives -------------------------------------------------------------------------
    def value_and_grad(self, z, scale=1.0):
        return jax.value_and_grad(lambda zz: -scale * self.log_posterior(zz))(z)

    def value_grad_hessian(self, z):
        """(f, g, H) of the objective in one forward-over-reverse pass."""

        def grad_aux(zz):
            f, g = jax.value_and_grad(lambda x: -self.log_posterior(x))(zz)
            return g, (f, g)

        h, (f, g) = jax.jacfwd(grad_aux, has_aux=True)(z)
        return f, g, 0.5 * (h + h.T)

    def scores(self, z) -> jax.Array:
        """Per-observation scores d loglik_i / dz, shape (n, k_free) (forward mode: k JVPs)."""
        return jax.jacfwd(self.contributions)(z)

    def prior_hessian(self, z) -> jax.Array:
        """Hessian of the log prior in z (zeros without a prior)."""
        k = z.shape[0]
        if self.spec.log_prior is None:
            return jnp.zeros((k, k), z.dtype)
        return jax.hessian(self.log_prior)(z)

    def theta_jacobian(self, z) -> jax.Array:
        """d theta / dz, shape (k, k_free)."""
        return jax.jacfwd(lambda zz: self.layout.theta_from_z(zz, self.u0))(z)

    def expected_information(self, z) -> jax.Array:
        """Expected information of the free z: J^T I(theta) J, with J = d theta / dz."""
        params = self.params(z)
        if self.spec.expected_takes_weights:
            info = self.spec.expected_info(params, self.data, weights=self.weights)
        else:
            info = self.spec.expected_info(params, self.data)
        jac = self.theta_jacobian(z)
        return jac.T @ jnp.asarray(info) @ jac
