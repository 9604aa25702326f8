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

# How :meth:`Objective.value_grad_hessian` differentiates the gradient:
# "batched": forward-over-reverse, all k directions in one pass (``jax.jacfwd`` of the gradient);
#   the fastest where the parameters enter through products with the data (regression
#   coefficients: the k directions become one matrix product).
# "columns": the gradient linearized once (``jax.linearize``), then one Hessian column per
#   direction in a ``lax.map``; faster where scalar parameters enter every observation through
#   transcendental functions (a Student-t's degrees of freedom), whose batched derivatives XLA's
#   CPU backend runs up to 2.5 times slower (benchmarks/RESULTS.md, sixth session).
HESSIAN_MODES = ("batched", "columns")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Static description of the user's model (hashable: it keys the compiled-solver cache)."""

    loglik: Callable
    log_prior: Optional[Callable] = None
    expected_info: Optional[Callable] = None
    expected_takes_weights: bool = False
    scalar: bool = False  # loglik returns the total, not per-observation contributions
    chunk_size: Optional[int] = None  # evaluate sums over observations chunk by chunk
    hessian: str = "batched"  # how Hessians are differentiated: see HESSIAN_MODES


class Objective:
    """Closures over (u0, data, weights) for one fit; create inside the traced function.

    Every sum over observations goes through :meth:`_sum`: in one piece, or with
    ``spec.chunk_size`` chunk by chunk in a ``lax.scan`` whose body computes the chunk's value,
    gradient, Hessian or score products, so peak memory is O(chunk k + k^2) rather than O(n k)
    (the data are padded to a multiple of the chunk with zero-weight copies of the last row).

    ``pin``: None, or a bool mask (k_free,) of free values *held* at their start ``free_part(u0)``
    (a profile's parameter, :mod:`jaxmle._profile`). A dynamic mask, so one compiled solve serves
    every choice of held values. The model sees the start's value wherever ``pin`` is set, and the
    objective gains the term ``0.5 * sum(pin * (z - z_start)^2)`` (in :meth:`log_prior`, so that
    every curvature a solver uses, Hessian, outer product of scores or expected information, adds
    it as it adds a prior's): a held coordinate then has zero gradient, unit curvature and no
    coupling to the others, so every step leaves it at its start.
    """

    def __init__(self, spec: ModelSpec, layout: Layout, u0, data, weights, pin=None):
        self.spec, self.layout, self.u0, self.data, self.weights = spec, layout, u0, data, weights
        self.pin = pin
        self._anchor = None if pin is None else layout.free_part(u0)

    def held(self, z):
        """``z`` with the pinned values replaced by their start (``z`` itself without a pin)."""
        return z if self.pin is None else jnp.where(self.pin, self._anchor, z)

    def params(self, z):
        return self.layout.params_from_z(self.held(z), self.u0)

    def _terms(self, z, data) -> jax.Array:
        return jnp.asarray(self.spec.loglik(self.params(z), data))

    def _sum(self, fn, *extra):
        """``sum over chunks of fn(data_chunk, weights_chunk, *extra_chunks)`` (a pytree of arrays)."""
        chunk = self.spec.chunk_size
        n = self.weights.shape[0]
        if not chunk or self.spec.scalar or chunk >= n:
            return fn(self.data, self.weights, *extra)
        m = -(-n // chunk)
        pad = m * chunk - n

        def split(x):
            x = jnp.asarray(x)
            x = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge") if pad else x
            return x.reshape((m, chunk) + x.shape[1:])

        weights = jnp.pad(self.weights, (0, pad)).reshape(m, chunk)  # padded rows weigh 0
        xs = (jax.tree_util.tree_map(split, self.data), weights, tuple(split(e) for e in extra))
        first = jax.tree_util.tree_map(lambda x: x[0], xs)
        init = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(lambda a: fn(a[0], a[1], *a[2]), first))

        def body(acc, x):
            return jax.tree_util.tree_map(jnp.add, acc, fn(x[0], x[1], *x[2])), None

        return jax.lax.scan(body, init, xs)[0]

    def contributions(self, z) -> jax.Array:
        """Unweighted per-observation log-likelihood contributions, shape (n,)."""
        return self._terms(z, self.data)

    def _loglik_and_magnitude(self, z):
        if self.spec.scalar:
            c = self._terms(z, self.data)
            return c, jnp.abs(c)

        def chunk(data, w):
            wc = w * self._terms(z, data)
            return jnp.sum(wc), jnp.sum(jnp.abs(wc))

        return self._sum(chunk)

    def loglik(self, z) -> jax.Array:
        """Weighted total log-likelihood (scalar)."""
        return self._loglik_and_magnitude(z)[0]

    def log_prior(self, z) -> jax.Array:
        """The log prior at ``z`` (0 without one), minus the pin term (see the class docstring)."""
        if self.spec.log_prior is None:
            lp = jnp.zeros((), self.u0.dtype)
        else:
            lp = jnp.asarray(self.spec.log_prior(self.params(z)))
        if self.pin is not None:
            lp = lp - 0.5 * jnp.sum(jnp.where(self.pin, z - self._anchor, 0.0) ** 2)
        return lp

    def value(self, z, scale=1.0) -> jax.Array:
        """The minimised objective: ``-scale * log_posterior``; NaN is mapped to +inf."""
        return self.value_and_magnitude(z, scale)[0]

    def value_and_magnitude(self, z, scale=1.0):
        """``(value(z), m)`` with ``m = scale (sum_i |w_i loglik_i| + |log prior|)``: the size of the
        terms summed into f, which sets its rounding error (f itself may be small by cancellation)."""
        ll, mag = self._loglik_and_magnitude(z)
        prior = self.log_prior(z)
        f = -scale * (ll + prior)
        mag = scale * (mag + jnp.abs(prior))
        return jnp.where(jnp.isnan(f), jnp.inf, f), jnp.where(jnp.isfinite(mag), mag, 0.0)

    # ---- derivatives -------------------------------------------------------------------------
    def value_grad_magnitude(self, z, scale=1.0):
        """``(f, g, m)``: value and gradient of the objective and the magnitude of
        :meth:`value_and_magnitude`, one reverse pass per chunk."""

        def chunk(data, w):
            def neg(zz):
                wc = w * self._terms(zz, data)
                return -jnp.sum(wc), jnp.sum(jnp.abs(wc))

            (f, m), g = jax.value_and_grad(neg, has_aux=True)(z)
            return f, g, m

        if self.spec.scalar:
            f, g = jax.value_and_grad(lambda zz: -self._terms(zz, self.data))(z)
            m = jnp.abs(f)
        else:
            f, g, m = self._sum(chunk)
        prior, prior_grad = jax.value_and_grad(self.log_prior)(z)
        f, g, m = scale * (f - prior), scale * (g - prior_grad), scale * (m + jnp.abs(prior))
        return jnp.where(jnp.isnan(f), jnp.inf, f), g, jnp.where(jnp.isfinite(m), m, 0.0)

    def value_and_grad(self, z, scale=1.0):
        f, g, _ = self.value_grad_magnitude(z, scale)
        return f, g

    def value_grad_hessian(self, z):
        """(f, g, H) of the objective, per chunk: one forward-over-reverse pass, or one column per
        direction (``spec.hessian``, see :data:`HESSIAN_MODES`)."""

        def chunk(data, w):
            return self._with_hessian(lambda x: -jnp.sum(w * self._terms(x, data)), z)

        if self.spec.scalar:
            f, g, h = self._with_hessian(lambda x: -self._terms(x, self.data), z)
        else:
            f, g, h = self._sum(chunk)
        prior, prior_grad = jax.value_and_grad(self.log_prior)(z)
        h = h - self.prior_hessian(z)
        return f - prior, g - prior_grad, 0.5 * (h + h.T)

    def _with_hessian(self, fn, z):
        """``(fn(z), grad fn(z), hessian fn(z))`` for a scalar ``fn``, as ``spec.hessian`` says."""
        if self.spec.hessian == "columns":
            (f, g), column = jax.linearize(jax.value_and_grad(fn), z)
            h = jax.lax.map(lambda e: column(e)[1], jnp.eye(z.shape[0], dtype=z.dtype))
            return f, g, h

        def grad_aux(zz):
            f, g = jax.value_and_grad(fn)(zz)
            return g, (f, g)

        h, (f, g) = jax.jacfwd(grad_aux, has_aux=True)(z)
        return f, g, h

    def _chunk_scores(self, z, data):
        """(scores (m, k), contributions (m,)) of a data chunk, one forward-mode pass."""
        return jax.jacfwd(lambda zz: (self._terms(zz, data),) * 2, has_aux=True)(z)

    def outer_product(self, z):
        """``(sum_i w_i loglik_i, sum_i w_i s_i, sum_i w_i s_i s_i^T)`` (BHHH, OPG and sandwich meat)."""

        def chunk(data, w):
            s, c = self._chunk_scores(z, data)
            return jnp.sum(w * c), s.T @ w, s.T @ (w[:, None] * s)

        return self._sum(chunk)

    def cluster_score_sums(self, z, codes, n_groups: int):
        """(G, k) sums of the weighted scores within each cluster."""

        def chunk(data, w, codes):
            s, _ = self._chunk_scores(z, data)
            return jax.ops.segment_sum(s * w[:, None], codes, num_segments=n_groups)

        return self._sum(chunk, codes)

    def prior_hessian(self, z) -> jax.Array:
        """Hessian of :meth:`log_prior` in z (zeros without a prior or a pin)."""
        k = z.shape[0]
        if self.spec.log_prior is None and self.pin is None:
            return jnp.zeros((k, k), z.dtype)
        return jax.hessian(self.log_prior)(z)

    def theta_jacobian(self, z) -> jax.Array:
        """d theta / dz, shape (k, k_free)."""
        return jax.jacfwd(lambda zz: self.layout.theta_from_z(self.held(zz), self.u0))(z)

    def expected_information(self, z) -> jax.Array:
        """Expected information of the free z: J^T I(theta) J, with J = d theta / dz."""
        params = self.params(z)
        if self.spec.expected_takes_weights:
            info = self.spec.expected_info(params, self.data, weights=self.weights)
        else:
            info = self.spec.expected_info(params, self.data)
        jac = self.theta_jacobian(z)
        return jac.T @ jnp.asarray(info) @ jac
