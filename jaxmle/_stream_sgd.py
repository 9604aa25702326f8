"""First-order epochs over host-streamed minibatches (the optax path of :func:`maximize_stream`).

Each chunk is one minibatch and one optimizer step. The step minimises the minibatch estimate of
the *mean* negative log posterior in the unconstrained free values ``z``::

    loss_b(z) = -(1/m_b) sum_{i in b} loglik_i(theta(z)) - (1/n) log_prior(theta(z))

Over chunks that partition the data, ``sum_b (m_b/n) loss_b = -(loglik + log_prior)/n``: the
prior enters with the chunk's share ``m_b/n`` of the data, so the minibatch gradients average (are
unbiased, for a random partition) to the full mean gradient and the stationary point is the MLE,
or the MAP with a prior. Scaling by ``1/m_b`` keeps learning rates independent of n and of the
chunk size, as for :func:`maximize` with an optax method.

One jitted call per chunk (one compilation per chunk shape) updates ``z``, the optax state and an
on-device sum of ``m_b loss_b``; the host only iterates the chunks and reads the epoch losses once
at the end.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _compile
from ._objective import ModelSpec, Objective


def leading_length(chunk) -> int:
    return int(jax.tree_util.tree_leaves(chunk)[0].shape[0])


@functools.lru_cache(maxsize=32)
def compiled_step(loglik, log_prior, layout, transformation):
    """``step(z, opt_state, loss_sum, u0, chunk, prior_weight) -> (z, opt_state, loss_sum)``, jitted."""
    data_spec = ModelSpec(loglik)
    prior_spec = ModelSpec(loglik, log_prior)
    extra_args = isinstance(transformation, optax.GradientTransformationExtraArgs)

    def step(z, opt_state, loss_sum, u0, chunk, prior_weight):
        m = leading_length(chunk)
        obj = Objective(data_spec, layout, u0, chunk, jnp.ones((m,), u0.dtype))
        prior = Objective(prior_spec, layout, u0, None, jnp.ones((1,), u0.dtype))

        def loss(zz):
            return obj.value(zz, 1.0 / m) - prior_weight * prior.log_prior(zz)

        f, g = jax.value_and_grad(loss)(z)
        if extra_args:  # line searches (optax.lbfgs, ...) search along the minibatch loss
            updates, opt_state = transformation.update(g, opt_state, z, value=f, grad=g, value_fn=loss)
        else:
            updates, opt_state = transformation.update(g, opt_state, z)
        return optax.apply_updates(z, updates), opt_state, loss_sum + m * f

    return _compile.jit(step)


def run_epochs(step, transformation, z, u0, chunk_source, n_epochs: int, prior_weight: float):
    """Run ``n_epochs`` passes of :func:`compiled_step`'s step over ``chunk_source(epoch)``.

    Returns ``(z, loss_history, n_steps)``: the final free values, the mean loss of each epoch (the
    ``m_b``-weighted average of the minibatch losses before each step, shape ``(n_epochs,)``) and
    the number of optimizer steps.
    """
    opt_state = transformation.init(z)
    u0 = jnp.asarray(u0)
    weight = jnp.asarray(prior_weight, u0.dtype)
    sums, counts, n_steps = [], [], 0
    for epoch in range(n_epochs):
        loss_sum, count = jnp.zeros((), u0.dtype), 0
        for chunk in chunk_source(epoch):
            z, opt_state, loss_sum = step(z, opt_state, loss_sum, u0, chunk, weight)
            count += leading_length(chunk)
            n_steps += 1
        sums.append(loss_sum)
        counts.append(count)
    history = np.asarray(jnp.stack(sums), dtype=np.float64) / np.asarray(counts, dtype=np.float64)
    return z, history, n_steps
