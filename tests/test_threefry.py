"""The unrolled Threefry-2x32 hash behind the bootstrap's draws, and the keys it accepts."""

import jax
import jax.extend.random as jex_random
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmle._bootstrap import resample_counts, resample_indices
from jaxmle._threefry import key_words, threefry2x32

# Random123's known-answer vectors for Threefry-2x32 with 20 rounds: (key, counter, output)
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key, counter, expected", KNOWN_ANSWERS)
def test_threefry_known_answers(key, counter, expected):
    out = threefry2x32(np.uint32(key[0]), np.uint32(key[1]), np.uint32(counter[0]), np.uint32(counter[1]))
    assert tuple(int(v) for v in out) == expected


def test_threefry_equals_jax_bit_for_bit():
    # JAX's hash pairs the first and second halves of its counts: (x0, x1) = (count[:n], count[n:])
    rng = np.random.default_rng(0)
    for _ in range(3):
        k = rng.integers(0, 2**32, 2, dtype=np.uint32)
        x0, x1 = rng.integers(0, 2**32, (2, 4096), dtype=np.uint32)
        ref = np.asarray(jex_random.threefry_2x32(jnp.asarray(k), jnp.concatenate([x0, x1])))
        y0, y1 = threefry2x32(k[0], k[1], x0, x1)
        np.testing.assert_array_equal(np.concatenate([y0, y1]), ref)
    # under jit and vmap (the bootstrap's use) the same bits
    jitted = jax.jit(jax.vmap(lambda a, b: threefry2x32(k[0], k[1], a, b)))
    y0, y1 = jitted(x0.reshape(64, 64), x1.reshape(64, 64))
    np.testing.assert_array_equal(np.concatenate([np.ravel(y0), np.ravel(y1)]), ref)


def test_key_words_of_typed_raw_and_other_keys():
    typed = jax.random.key(42)
    raw = jax.random.PRNGKey(42)  # the legacy uint32[2] form of the same key
    assert [int(w) for w in key_words(typed)] == [int(w) for w in key_words(raw)] == list(np.asarray(raw))
    rbg = jax.random.key(42, impl="rbg")  # 4 words: two threefry words are drawn from it
    words = key_words(rbg)
    assert all(w.dtype == jnp.uint32 and w.shape == () for w in words)
    with jax.enable_x64(True):
        same = [np.asarray(resample_indices(k, jnp.int32(3), 500)) for k in (typed, raw)]
        other = np.asarray(resample_indices(rbg, jnp.int32(3), 500))
    np.testing.assert_array_equal(same[0], same[1])
    assert other.min() >= 0 and other.max() < 500 and (other != same[0]).mean() > 0.9


def test_resampling_stream_is_apart_from_the_keys_own_bits():
    # the draws come from a key derived for resampling, not from the words jax.random.bits(key) gives
    key = jax.random.key(1)
    with jax.enable_x64(True):
        draws = np.asarray(resample_indices(key, jnp.int32(0), 1000))
        naive = np.asarray(jax.random.bits(key, (1000,), jnp.uint64) % 1000)
    assert (draws != naive).mean() > 0.9


def test_resample_counts_are_the_histograms_of_the_draws():
    key, reps = jax.random.key(9), np.array([0, 5, 7], np.int32)
    with jax.enable_x64(True):
        counts = np.asarray(resample_counts(key, reps, 300))
        draws = np.asarray(resample_indices(key, reps, 300))
    assert counts.shape == (3, 300) and counts.dtype == np.int32
    for row, b in enumerate(reps):
        np.testing.assert_array_equal(counts[row], np.bincount(draws[row], minlength=300))
        with jax.enable_x64(True):
            np.testing.assert_array_equal(draws[row], np.asarray(resample_indices(key, jnp.int32(b), 300)))
    assert (counts.sum(axis=1) == 300).all()
