"""Strict JAX settings for the test-suite: rank promotion raises.

x64 is *not* switched on globally: jaxmle must give float64 results on its own (scoped x64).
"""

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _no_global_x64_change():
    before = jax.config.jax_enable_x64
    yield
    assert jax.config.jax_enable_x64 == before, "a test or jaxmle changed the global x64 setting"
