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


# Every compiled XLA:CPU program keeps its kernels' code mapped (~230 memory mappings a fit under
# jax 0.10, ~390 under 0.11), and JAX's caches keep the programs. Linux allows a process 65,530
# mappings by default (vm.max_map_count); past that LLVM cannot map new code and the process
# crashes inside a compile. The whole suite peaked at 54,678 under jax 0.10.2 and crashed under
# 0.11.2, so after a module that leaves more than MAX_MAPS mappings the caches are cleared (the
# next module recompiles what it needs).
MAX_MAPS = 30_000


def _memory_mappings() -> int:
    try:
        with open("/proc/self/maps") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True, scope="module")
def _bounded_compiled_code():
    yield
    if _memory_mappings() > MAX_MAPS:
        jax.clear_caches()
