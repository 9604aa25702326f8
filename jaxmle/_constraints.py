"""Supports of parameters and their bijections to an unconstrained space.

Each leaf of ``params`` has a support. The optimiser works on unconstrained values ``u``; the
model sees ``theta = forward(u)``. Covariances of ``theta`` follow by the delta method.

=================  ==========================================  ================================
support            forward map (u -> theta)                    inverse
=================  ==========================================  ================================
``"real"``         theta = u                                   u = theta
``"positive"``     theta = exp(u)                              u = log(theta)
``"unit_interval"`` theta = sigmoid(u)                         u = logit(theta)
``(low, high)``    low + (high - low) sigmoid(u); one-sided    logit / log of the distance
                   ``(low, inf)``: low + exp(u), ``(-inf, high)``: high - exp(u)
``"simplex"``      softmax([u, 0]) (additive log-ratio, the    u_j = log theta_j - log theta_m
                   last element is the reference; m-1 values)
=================  ==========================================  ================================
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

SUPPORT_NAMES = ("real", "positive", "unit_interval", "simplex", "(low, high)")


@dataclasses.dataclass(frozen=True)
class Support:
    """A parameter support: ``kind`` in {"real", "positive", "interval", "simplex"}."""

    kind: str
    low: float = -math.inf
    high: float = math.inf

    @property
    def elementwise(self) -> bool:
        """True when each unconstrained value maps to exactly one parameter value."""
        return self.kind != "simplex"

    def u_size(self, size: int) -> int:
        """Number of unconstrained values for a leaf of ``size`` elements."""
        return size - 1 if self.kind == "simplex" else size

    def forward(self, u: jax.Array, shape: tuple) -> jax.Array:
        """Map unconstrained values (flat, ``u_size``) to a leaf of ``shape``."""
        if self.kind == "real":
            theta = u
        elif self.kind == "positive":
            theta = jnp.exp(u)
        elif self.kind == "simplex":
            theta = jax.nn.softmax(jnp.concatenate([u, jnp.zeros((1,), u.dtype)]))
        elif math.isinf(self.high):
            theta = self.low + jnp.exp(u)
        elif math.isinf(self.low):
            theta = self.high - jnp.exp(u)
        else:
            theta = self.low + (self.high - self.low) * jax.nn.sigmoid(u)
        return theta.reshape(shape)

    def inverse(self, theta: jax.Array) -> jax.Array:
        """Map a leaf (any shape) to its flat unconstrained values."""
        t = jnp.ravel(theta)
        if self.kind == "real":
            return t
        if self.kind == "positive":
            return jnp.log(t)
        if self.kind == "simplex":
            return jnp.log(t[:-1]) - jnp.log(t[-1])
        if math.isinf(self.high):
            return jnp.log(t - self.low)
        if math.isinf(self.low):
            return jnp.log(self.high - t)
        p = (t - self.low) / (self.high - self.low)
        return jnp.log(p) - jnp.log1p(-p)

    def check(self, theta: np.ndarray) -> str | None:
        """Return why ``theta`` lies outside the support's interior, or None when it is inside."""
        given = np.asarray(theta)
        eps = np.finfo(given.dtype).eps if np.issubdtype(given.dtype, np.floating) else np.finfo(np.float64).eps
        t = given.astype(np.float64).ravel()
        if not np.all(np.isfinite(t)):
            return "contains non-finite values"
        if self.kind == "positive" and not np.all(t > 0):
            return "must be > 0"
        if self.kind == "interval" and not np.all((t > self.low) & (t < self.high)):
            return f"must lie strictly inside ({self.low}, {self.high})"
        if self.kind == "simplex":
            if t.size < 2:
                return "a simplex needs at least 2 elements"
            # (to the rounding of the given dtype: jnp.ones(3) / 3 in float32 sums to 1 + 3e-8)
            if not np.all(t > 0) or abs(t.sum() - 1.0) > max(1e-8, 4 * eps * t.size):
                return f"must be positive and sum to 1 (sums to {t.sum():.10g})"
        return None

    def __str__(self) -> str:
        if self.kind == "interval":
            return f"({self.low}, {self.high})"
        return self.kind


def parse_support(spec, arg: str = "constraints") -> Support:
    """Turn a user's support spec into a :class:`Support`; raise ``ValueError`` for unknown names."""
    if spec is None or spec == "real":
        return Support("real")
    if isinstance(spec, Support):
        return spec
    if isinstance(spec, str):
        if spec == "positive":
            return Support("positive", 0.0, math.inf)
        if spec == "unit_interval":
            return Support("interval", 0.0, 1.0)
        if spec == "simplex":
            return Support("simplex")
        raise ValueError(f"{arg}: unknown support {spec!r}; expected one of {', '.join(SUPPORT_NAMES)}")
    if is_interval_spec(spec):
        low, high = float(spec[0]), float(spec[1])
        if not low < high:
            raise ValueError(f"{arg}: interval support needs low < high, got {spec!r}")
        if math.isinf(low) and math.isinf(high):
            return Support("real")
        return Support("interval", low, high)
    raise ValueError(f"{arg}: cannot read support {spec!r}; expected one of {', '.join(SUPPORT_NAMES)}")


def is_interval_spec(spec) -> bool:
    return (
        isinstance(spec, tuple)
        and len(spec) == 2
        and all(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) for v in spec)
    )


def is_support_spec(x) -> bool:
    """True for anything that names one support (used to expand pytree prefixes)."""
    return x is None or isinstance(x, (str, Support)) or is_interval_spec(x)
