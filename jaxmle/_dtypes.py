"""Floating-point precision rules.

jaxmle computes in float64 by default without touching the user's global JAX configuration:
every public entry point runs inside a *scoped* ``jax.enable_x64(True)`` and hands back NumPy
float64 arrays, which keep their precision whatever the caller's JAX settings are. A user's own
float32 program is left unchanged. ``dtype="float32"`` is the explicit opt-in for accelerators:
the fit then runs in single precision (about 7 significant digits; see the README).

Matrix products in the user's model are computed at full precision of their dtype: GPUs would
otherwise multiply float32 matrices in TensorFloat-32 (10-bit mantissas, ~1e-3 relative error),
which is enough to stop a float32 Newton fit from converging (W4 on an H100: 100 iterations,
estimates off by 3e-4 relative) and to fail a third of float32 bootstrap replicates. A product
whose ``precision=`` the model sets itself keeps it.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from ._validation import in_host_memory

_SUPPORTED = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(dtype) -> np.dtype:
    """Return the NumPy dtype for ``dtype`` ("float64"/"float32" or the dtype itself)."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _SUPPORTED:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return np.dtype(_SUPPORTED[key])


@contextlib.contextmanager
def precision_scope(dtype: np.dtype):
    """Context in which JAX computes in ``dtype`` (scoped x64 for float64), with matrix products
    at full precision (``jax.default_matmul_precision("highest")``: no TensorFloat-32)."""
    x64 = jax.enable_x64(True) if np.dtype(dtype) == np.float64 else contextlib.nullcontext()
    with jax.default_matmul_precision("highest"), x64:
        yield


def cast_data(tree, dtype: np.dtype):
    """Cast the floating leaves of a pytree to ``dtype``; integer/bool leaves keep their kind.

    NumPy inputs stay NumPy (the compiled call transfers them; no eager device op is compiled);
    JAX arrays stay on their device, with their sharding (those in host memory are converted by
    NumPy: nothing compiled). In float32 mode 64-bit integers become int32.

    A NumPy leaf comes back as a new array object (a view when nothing is converted: no copy).
    JAX (0.10 and 0.11) remembers the device copy of a NumPy array that a live traced function
    closed over, by the array's identity: a user who jitted ``lambda p: loglik(p, data)`` in
    JAX's default float32 mode would otherwise have that float32 copy handed to jaxmle's float64
    program (an XLA "RuntimeProgramInputMismatch" error).
    """
    dtype = np.dtype(dtype)

    def cast(x):
        if isinstance(x, jax.Array):
            if not jnp.issubdtype(x.dtype, jnp.floating) or x.dtype == dtype:
                return x
            if in_host_memory(x):  # an eager astype would compile a program (~0.05 s a shape)
                return jax.device_put(np.asarray(x).astype(dtype), x.sharding)
            return x.astype(dtype)
        arr = np.asarray(x)
        if np.issubdtype(arr.dtype, np.floating) or arr.dtype == object:
            arr = arr.astype(dtype, copy=False)
        elif dtype == np.float32 and arr.dtype.itemsize == 8 and np.issubdtype(arr.dtype, np.integer):
            arr = arr.astype(np.int32)
        return arr.view() if arr is x else arr

    return jax.tree_util.tree_map(cast, tree)


def to_device(tree):
    """NumPy leaves -> JAX arrays on the default device; JAX arrays (e.g. sharded) are left as they are.

    Call inside the precision scope of the fit. The transfer happens anyway when the compiled call
    receives NumPy data, but a copy made implicitly by ``jit`` is freed only at the next garbage
    collection (W4: ~1.2x the data stayed resident after a fit); an explicit copy is freed as soon
    as the call returns.
    """
    return jax.tree_util.tree_map(lambda x: jax.device_put(x) if isinstance(x, np.ndarray) else x, tree)


def cast_params(tree, dtype: np.dtype):
    """Starting values as NumPy arrays of ``dtype`` (floating leaves) on the host.

    Parameters are small, so a JAX array among them is read back rather than cast on its device:
    an eager ``astype`` would compile a one-off XLA program (~50 ms on a first call)."""
    return cast_data(jax.tree_util.tree_map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, tree), dtype)
