"""Floating-point precision rules.

jaxmle computes in float64 by default without touching the user's global JAX configuration:
every public entry point runs inside a *scoped* ``jax.enable_x64(True)`` and hands back NumPy
float64 arrays, which keep their precision whatever the caller's JAX settings are. A user's own
float32 program is left unchanged. ``dtype="float32"`` is the explicit opt-in for accelerators:
the fit then runs in single precision (about 7 significant digits; see the README).
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

_SUPPORTED = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(dtype) -> np.dtype:
    """Return the NumPy dtype for ``dtype`` ("float64"/"float32" or the dtype itself)."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _SUPPORTED:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return np.dtype(_SUPPORTED[key])


@contextlib.contextmanager
def precision_scope(dtype: np.dtype):
    """Context in which JAX computes in ``dtype`` (scoped x64 for float64)."""
    if np.dtype(dtype) == np.float64:
        with jax.enable_x64(True):
            yield
    else:
        yield


def as_float_array(x, dtype: np.dtype) -> jax.Array:
    """Convert a floating (or integer) leaf to a JAX array of ``dtype``."""
    return jnp.asarray(np.asarray(x), dtype=dtype) if not isinstance(x, jax.Array) else x.astype(dtype)


def cast_data(tree, dtype: np.dtype):
    """Cast the floating leaves of a data pytree to ``dtype``; integer/bool leaves keep their kind."""

    def cast(x):
        arr = x if isinstance(x, jax.Array) else np.asarray(x)
        if jnp.issubdtype(arr.dtype, jnp.floating):
            return jnp.asarray(arr, dtype=dtype)
        return jnp.asarray(arr)

    return jax.tree_util.tree_map(cast, tree)
