"""Parameter layout: the maps between a params pytree and the vectors the solvers see.

Three flat spaces are involved:

* ``theta`` (size ``k``): every parameter value, constrained, in ``names`` order;
* ``u`` (size ``k_u``): every parameter, unconstrained (``k_u < k`` only for simplex leaves);
* ``z`` (size ``k_free``): the unconstrained values that are *not* fixed; the solvers work here.

A :class:`Layout` is hashable, so it can key the cache of compiled solvers.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _constraints, _pytree


@dataclasses.dataclass(frozen=True)
class Layout:
    treedef: object
    shapes: tuple
    supports: tuple
    free_u: tuple
    fixed_theta: tuple
    names: tuple

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple:
        return tuple(math.prod(s) for s in self.shapes)

    @property
    def k(self) -> int:
        return sum(self.sizes)

    @property
    def k_u(self) -> int:
        return sum(sup.u_size(m) for sup, m in zip(self.supports, self.sizes))

    @property
    def k_free(self) -> int:
        return len(self.free_u)

    @property
    def bounded_u(self) -> np.ndarray:
        """(k_u,) bool: the unconstrained values whose parameter has a bounded support (positive,
        interval, simplex, ...): one running off to +-infinity is an estimate at a boundary."""
        return np.array([sup.kind != "real" for sup, m in zip(self.supports, self.sizes)
                         for _ in range(sup.u_size(m))], dtype=bool)

    @property
    def unbounded_free(self) -> np.ndarray:
        """(k_free,) bool: the free values whose parameter has real support, so that their running
        off to infinity is a maximum that does not exist (a bounded parameter's unconstrained value
        running off is an estimate on its boundary instead)."""
        return ~self.bounded_u[np.asarray(self.free_u, dtype=np.int64)]

    # ---- maps --------------------------------------------------------------------------------
    def unconstrain(self, params) -> jax.Array:
        """params pytree -> ``u`` (k_u,)."""
        leaves = self.treedef.flatten_up_to(params)
        parts = [sup.inverse(jnp.asarray(leaf)) for sup, leaf in zip(self.supports, leaves)]
        return jnp.concatenate(parts) if parts else jnp.zeros((0,))

    def constrain(self, u: jax.Array):
        """``u`` (k_u,) -> params pytree."""
        leaves, start = [], 0
        for sup, shape, m in zip(self.supports, self.shapes, self.sizes):
            mu = sup.u_size(m)
            leaves.append(sup.forward(u[start : start + mu], shape))
            start += mu
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def flatten(self, params) -> jax.Array:
        """params pytree -> ``theta`` (k,)."""
        leaves = self.treedef.flatten_up_to(params)
        return jnp.concatenate([jnp.ravel(jnp.asarray(x)) for x in leaves]) if leaves else jnp.zeros((0,))

    def unflatten(self, theta):
        """``theta`` (k,) -> params pytree (works for NumPy and JAX arrays)."""
        leaves, start = [], 0
        for shape, m in zip(self.shapes, self.sizes):
            leaves.append(theta[start : start + m].reshape(shape))
            start += m
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def insert_free(self, z: jax.Array, u0: jax.Array) -> jax.Array:
        """Full ``u`` from the free values ``z`` and the fixed values held in ``u0``."""
        if self.k_free == self.k_u:
            return z
        return u0.at[np.asarray(self.free_u, dtype=np.int32)].set(z)

    def free_part(self, u: jax.Array) -> jax.Array:
        if self.k_free == self.k_u:
            return u
        return u[np.asarray(self.free_u, dtype=np.int32)]

    def params_from_z(self, z, u0):
        return self.constrain(self.insert_free(z, u0))

    def theta_from_z(self, z, u0):
        return self.flatten(self.params_from_z(z, u0))


class OutsideSupportError(ValueError):
    """A start value outside the open interior of its parameter's support."""


def build_layout(params0, constraints, fixed) -> Layout:
    """Validate ``params0``/``constraints``/``fixed`` and return their :class:`Layout`."""
    leaves, treedef = jax.tree_util.tree_flatten(params0)
    labels = _pytree.leaf_labels(params0)
    if not leaves:
        raise ValueError("params0 has no parameters (an empty pytree)")
    for label, leaf in zip(labels, leaves):
        _check_param_leaf(label, leaf)
    shapes = tuple(tuple(int(d) for d in np.shape(x)) for x in leaves)

    specs = _pytree.expand_prefix(
        constraints, params0, is_spec=_constraints.is_support_spec, default="real", arg="constraints"
    )
    supports = tuple(_constraints.parse_support(s, arg=f"constraints for {lab!r}") for s, lab in zip(specs, labels))
    for sup, label, leaf in zip(supports, labels, leaves):
        why = sup.check(np.asarray(leaf))
        if why is not None:
            raise OutsideSupportError(
                f"params0[{label!r}] is outside its support {sup}: {why} (got {np.asarray(leaf)!r})")

    fixed_specs = _pytree.expand_prefix(fixed, params0, is_spec=_is_fixed_spec, default=False, arg="fixed")
    fixed_theta: list[bool] = []
    free_u: list[int] = []
    u_start = 0
    for spec, sup, shape, label in zip(fixed_specs, supports, shapes, labels):
        m = math.prod(shape)
        raw = np.asarray(spec)
        if raw.dtype != bool and not (np.issubdtype(raw.dtype, np.integer) and np.isin(raw, (0, 1)).all()):
            raise ValueError(f"fixed for {label!r} must hold booleans (True: held at its start value), got {spec!r}")
        mask = raw.astype(bool)
        if mask.ndim == 0:
            mask = np.full(shape, bool(mask))
        if mask.shape != shape:
            raise ValueError(
                f"fixed for {label!r} has shape {mask.shape}, expected a bool or shape {shape} (a list or array of "
                "booleans is the mask of one array leaf; for several leaves give a pytree prefix of params0, e.g. a "
                "tuple of booleans for a tuple of parameters)")
        mask = mask.ravel()
        mu = sup.u_size(m)
        if not sup.elementwise:
            if mask.any() and not mask.all():
                raise ValueError(f"fixed for {label!r}: a simplex leaf is held fixed as a whole or not at all")
            umask = np.full(mu, bool(mask.all()))
        else:
            umask = mask
        free_u.extend(int(u_start + j) for j in range(mu) if not umask[j])
        fixed_theta.extend(bool(b) for b in mask)
        u_start += mu
    if not free_u:
        raise ValueError("every parameter is fixed: nothing to estimate")
    return Layout(
        treedef=treedef,
        shapes=shapes,
        supports=supports,
        free_u=tuple(free_u),
        fixed_theta=tuple(fixed_theta),
        names=tuple(_pytree.flat_names(params0)),
    )


def _is_fixed_spec(x) -> bool:
    if x is None or isinstance(x, (bool, np.bool_)):
        return True
    if isinstance(x, (np.ndarray, jax.Array)):
        return True
    return isinstance(x, list) and all(isinstance(v, (bool, np.bool_, list)) for v in x)


def _check_param_leaf(label: str, leaf) -> None:
    if isinstance(leaf, bool) or isinstance(leaf, (int, np.integer)) and not isinstance(leaf, float):
        raise TypeError(
            f"params0[{label!r}] is the integer {leaf!r}; parameters must be floating point (write {float(leaf)!r})"
        )
    if isinstance(leaf, float):
        return
    if not hasattr(leaf, "dtype"):
        raise TypeError(f"params0[{label!r}] is a {type(leaf).__name__}; parameters must be float arrays or floats")
    if not jnp.issubdtype(leaf.dtype, jnp.floating):
        raise TypeError(
            f"params0[{label!r}] has dtype {leaf.dtype}; parameters must be floating point "
            "(e.g. jnp.zeros(3), not jnp.zeros(3, int))"
        )
