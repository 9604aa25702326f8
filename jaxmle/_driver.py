"""The one iteration driver: a ``lax.while_loop`` over a solver's pure ``init``/``step``.

A solver's ``step(obj, state, tol, max_iter)`` evaluates the objective where it stands, decides
the status with :func:`decide_status`, and moves only while the status is ``RUNNING``; so on exit
the state holds ``z`` together with ``f``, ``g`` (and, for second-order solvers, the curvature)
evaluated *at* ``z``. Under ``vmap`` every fit keeps its own status: one failure never aborts
the batch, and finished fits stay where they are.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

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


def log_iteration(verbose: bool, n_iter, f, g, z):
    """Stata-style iteration log line (only when ``verbose``; a no-op in the compiled code otherwise)."""
    if verbose:
        jax.debug.print(
            "Iteration {i}: log posterior = {lp:.10g}  relative gradient = {rg:.3e}",
            i=n_iter, lp=-f, rg=relative_gradient(g, z, f),
        )


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
