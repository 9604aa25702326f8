"""``jit`` with the compiler settings jaxmle's solvers compile fastest with.

XLA's CPU backend compiles each fusion with its newer MLIR "fusion emitters" by default. For
jaxmle's solvers (one ``while_loop`` holding the model's value, gradient and Hessian, line
searches and small linear algebra) the older emitters compile the same program 1.5 to 3 times
faster (W2, the Student-t regression: 3.1 s -> 1.1 s of XLA time; W1: 1.5 s -> 1.0 s; the
bootstrap's batch solve: 1.5 s -> 1.0 s) at the same run time within noise (W1/W2/W3, see
benchmarks/RESULTS.md). So jaxmle's own ``jit`` calls pass ``xla_cpu_use_fusion_emitters=False``
when the installed XLA knows the option (checked once); other backends ignore CPU options.
"""

from __future__ import annotations

import functools

import jax

FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False}


@functools.lru_cache(maxsize=1)
def compiler_options() -> dict:
    """The options this XLA accepts (empty when it rejects them: then XLA's defaults are used)."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=FAST_COMPILE).lower(1.0).compile()
    except Exception:  # an XLA without the option: compile with its defaults
        return {}
    return dict(FAST_COMPILE)


class _LazyJit:
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options`, created on first use (so that
    importing jaxmle, which wraps some functions at import, initialises no JAX backend). Called
    inside another trace (e.g. a user's ``jit`` of :func:`jaxmle.make_solver`), where JAX allows
    compiler options only on the outermost ``jit``, it is a plain ``jax.jit``."""

    def __init__(self, fun, kwargs):
        self._fun, self._kwargs, self._jitted, self._plain = fun, kwargs, None, None
        functools.update_wrapper(self, fun)

    @property
    def jitted(self):
        if self._jitted is None:
            self._jitted = jax.jit(self._fun, compiler_options=compiler_options(), **self._kwargs)
        return self._jitted

    def __call__(self, *args, **kwargs):
        if not compiler_options() or _inside_trace(args, kwargs):
            if self._plain is None:
                self._plain = jax.jit(self._fun, **self._kwargs)
            return self._plain(*args, **kwargs)
        try:
            return self.jitted(*args, **kwargs)
        except ValueError as err:  # traced with constant arguments only: not the outermost jit
            if "compiler_options" not in str(err):
                raise
            self._plain = self._plain or jax.jit(self._fun, **self._kwargs)
            return self._plain(*args, **kwargs)

    def __getattr__(self, name):  # lower, trace, _cache_size, ...
        return getattr(self.jitted, name)


def _inside_trace(args, kwargs) -> bool:
    """Whether the call happens while JAX traces an enclosing function (a tracer among the
    arguments)."""
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kwargs)))


def jit(fun, **kwargs):
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options` added (see :class:`_LazyJit`)."""
    return _LazyJit(fun, kwargs)
