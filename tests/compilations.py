"""What XLA compiles while a call runs, from JAX's monitoring events (for tests that pin it down)."""

import jax


def compiled_during(fn):
    """``(names, fn())``: the names of the functions XLA compiled while ``fn()`` ran (on any thread),
    in order, e.g. ``["jit(_fit)"]``."""
    names = []

    def record(event, duration, **kwargs):
        if event.endswith("backend_compile_duration"):
            names.append(kwargs.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(record)
    try:
        out = fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(record)
    return names, out
