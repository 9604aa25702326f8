"""The one iteration driver: a ``lax.while_loop`` over a solver's pure ``init``/``step``.

A solver's ``step(obj, state, tol, max_iter)`` evaluates the objective where it stands, decides
the status with :func:`decide_status`, and moves only while the status is ``RUNNING``; so on exit
the state holds ``z`` together with ``f``, ``g`` (and, for second-order solvers, the curvature)
evaluated *at* ``z``. Under ``vmap`` every fit keeps its own status: one failure never aborts
the batch, and finished fits stay where they are.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _status
from ._numerics import all_finite, relative_gradient


def decide_status(finite, converged, stalled, n_iter, max_iter):
    """The status code after an evaluation (see :mod:`jaxmle._status`)."""
    status = jnp.where(
        ~finite,
        _status.NONFINITE,
        jnp.where(
            converged,
            _status.CONVERGED,
            jnp.where(stalled, _status.STALLED, jnp.where(n_iter >= max_iter, _status.MAX_ITER, _status.RUNNING)),
        ),
    )
    return status.astype(jnp.int32)


def log_iteration(verbose, n_iter, f, g, z):
    """Stata-style iteration log line (only when ``verbose``; a no-op in the compiled code otherwise).

    ``verbose``: True, or the name of the maximised quantity (``-f``), e.g. "log-likelihood". The
    values travel to the printing callback as their bits: the callback runs on XLA's host thread,
    outside the caller's scoped ``jax.enable_x64``, where a float64 argument would arrive rounded
    to float32 (a log-likelihood of -3658.627521 printed as -3658.627441)."""
    if verbose:
        label = verbose if isinstance(verbose, str) else "log posterior"
        jax.debug.callback(functools.partial(_print_iteration, label), n_iter, _bits(-f),
                           _bits(relative_gradient(g, z, f)))


def _bits(x):
    """The bits of a float scalar as unsigned 32-bit words ((2,) for float64, () for float32)."""
    return jax.lax.bitcast_convert_type(x, jnp.uint32)


def _from_bits(words) -> float:
    words = np.asarray(words, dtype=np.uint32)
    return float(words.view(np.float64 if words.size == 2 else np.float32).reshape(()))


def _print_iteration(label: str, n_iter, value, rel_grad) -> None:
    print(f"Iteration {int(n_iter)}: {label} = {_from_bits(value):.10g}  "
          f"relative gradient = {_from_bits(rel_grad):.3e}")


def with_gradient_status(state, tol, max_iter, verbose: bool = False, at_rounding_level=False):
    """Set ``state.status`` for gradient-based solvers: converged when the relative gradient is
    ``<= tol`` or below the machine epsilon of z's dtype (a gradient smaller than eps |f| / |z|
    is lost in the rounding of f's sum: float32 stops there, float64 at tol), or when
    ``at_rounding_level`` (a bool array: the solver's next step is below the rounding level of z)
    (states with fields z, f, g, n_iter, stalled, status)."""
    log_iteration(verbose, state.n_iter, state.f, state.g, state.z)
    floor = jnp.maximum(tol, jnp.finfo(state.z.dtype).eps)
    converged = (relative_gradient(state.g, state.z, state.f) <= floor) | at_rounding_level
    status = decide_status(all_finite(state.f, state.g), converged, state.stalled, state.n_iter, max_iter)
    return state._replace(status=status)


def iterate(solver, obj, z0, tol, max_iter, verbose: bool = False):
    """Run ``solver`` from ``z0`` until convergence, stall, non-finite values or ``max_iter``."""
    state = solver.init(obj, z0, tol, max_iter, verbose)
    return jax.lax.while_loop(
        lambda s: s.status == _status.RUNNING,
        lambda s: solver.step(obj, s, tol, max_iter, verbose),
        state,
    )


__all__ = ["decide_status", "iterate", "log_iteration", "with_gradient_status"]
