"""The Threefry-2x32 hash (20 rounds), written out in ``jax.numpy``.

This is the counter-based hash behind ``jax.random`` (Salmon et al., "Parallel random numbers: as
easy as 1, 2, 3", SC 2011), bit for bit: ``threefry2x32(k0, k1, x0, x1)`` equals
``jax.extend.random.threefry_2x32((k0, k1), concat([x0, x1]))`` split in halves (tested, with
Random123's known-answer vectors). JAX lowers its hash on CPU as a ``fori_loop`` over the five
blocks of four rounds; for the bootstrap's 1000 x 2000 draws that loop compiles 2.4x slower and
runs 3.5x slower than the unrolled rounds, which XLA fuses into one elementwise kernel
(``benchmarks/RESULTS.md``, ninth session). The bootstrap's resampling uses this form.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA  # Threefish's key-schedule constant


def _rotate_left(v: jax.Array, r: int) -> jax.Array:
    return (v << jnp.uint32(r)) | (v >> jnp.uint32(32 - r))


def threefry2x32(k0, k1, x0, x1) -> tuple[jax.Array, jax.Array]:
    """Hash the counter pairs ``(x0, x1)`` under the key ``(k0, k1)``.

    Args:
      k0, k1: the key's two 32-bit words (uint32 scalars or arrays broadcasting with x0, x1).
      x0, x1: the counters, uint32 arrays of one shape.

    Returns:
      ``(y0, y1)``: two uint32 arrays of the counters' shape; each pair ``(y0, y1)`` is 64
      pseudo-random bits, a different stream for each key.
    """
    k0, k1, x0, x1 = (jnp.asarray(a, jnp.uint32) for a in (k0, k1, x0, x1))
    keys = (k0, k1, k0 ^ k1 ^ jnp.uint32(_PARITY))
    x0, x1 = x0 + keys[0], x1 + keys[1]
    for block in range(5):
        for r in _ROTATIONS[block % 2]:
            x0 = x0 + x1
            x1 = _rotate_left(x1, r) ^ x0
        x0 = x0 + keys[(block + 1) % 3]
        x1 = x1 + keys[(block + 2) % 3] + jnp.uint32(block + 1)
    return x0, x1


def key_words(key) -> tuple[jax.Array, jax.Array]:
    """The two uint32 words of a JAX PRNG key: a typed ``jax.random.key`` (its threefry key data,
    or for another implementation two words drawn from it) or a raw ``uint32[2]`` key."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = jax.random.key_data(key)
        if data.shape != (2,) or data.dtype != jnp.uint32:  # e.g. an "rbg" key: derive a threefry key
            data = jax.random.bits(key, (2,), jnp.uint32)
    else:
        data = jnp.asarray(key, jnp.uint32)
    return data[0], data[1]
