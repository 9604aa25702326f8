"""The one iteration driver: a ``lax.while_loop`` over a solver's pure ``init``/``step``.

Every solver state carries ``z, f, g, n_iter, status, stalled``; the driver sets ``status``
(see :mod:`jaxmle._status`) after ``init`` and after each step, so under ``vmap`` every fit keeps
its own status and one failure never aborts the batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _status
from ._numerics import all_finite, relative_gradient


def _with_status(solver, state, tol, max_iter):
    finite = all_finite(state.f, state.g)
    conv = solver.converged(state, tol)
    status = jnp.where(
        ~finite,
        _status.NONFINITE,
        jnp.where(
            conv,
            _status.CONVERGED,
            jnp.where(state.stalled, _status.STALLED, jnp.where(state.n_iter >= max_iter, _status.MAX_ITER, _status.RUNNING)),
        ),
    )
    return state._replace(status=status.astype(jnp.int32))


def iterate(solver, obj, z0, tol, max_iter, verbose: bool = False):
    """Run ``solver`` from ``z0`` until convergence, stall, non-finite values or ``max_iter``."""

    def log(state):
        if verbose:
            jax.debug.print(
                "Iteration {i}: log posterior = {lp:.8g}  relative gradient = {rg:.3e}",
                i=state.n_iter, lp=-state.f, rg=relative_gradient(state.g, state.z, state.f),
            )
        return state

    state = log(_with_status(solver, solver.init(obj, z0), tol, max_iter))

    def cond(s):
        return s.status == _status.RUNNING

    def body(s):
        return log(_with_status(solver, solver.step(obj, s), tol, max_iter))

    return jax.lax.while_loop(cond, body, state)
