"""``jit`` with the compiler settings jaxmle's solvers compile fastest with.

XLA's CPU backend compiles each fusion with its newer MLIR "fusion emitters" by default. For
jaxmle's solvers (one ``while_loop`` holding the model's value, gradient and Hessian, line
searches and small linear algebra) the older emitters compile the same program 1.5 to 3 times
faster (measured in alternating fresh processes: W2, the Student-t regression, 3.2 s -> 1.6 s of
XLA time; W1 1.55 s -> 0.97 s; the bootstrap's batch solve 1.5 s -> 1.0 s) at the same run time
within noise (benchmarks/RESULTS.md). So jaxmle's own ``jit`` calls pass ``xla_cpu_use_fusion_emitters=False``
with jaxlib < 0.11, unless the installed XLA rejects the option (then, from that call on, XLA's
defaults are used); other backends ignore CPU options. jaxlib 0.11 removed the option (its XLA
has only the fusion emitters), so no options are passed there.

After each compilation it also checks how much of Linux's per-process memory mappings the process
holds (each compiled program keeps its machine code mapped) and warns near the limit
(:func:`warn_near_mapping_limit`).
"""

from __future__ import annotations

import functools

import jax

from . import _warnings

FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False}


# jaxlib 0.11 dropped the option; cleared also when an older XLA rejects it (then its defaults are used)
_SUPPORTED = [tuple(int(part) for part in jax.__version__.split(".")[:2]) < (0, 11)]


def compiler_options() -> dict:
    """The options to pass: :data:`FAST_COMPILE`, or none once XLA has rejected them."""
    return dict(FAST_COMPILE) if _SUPPORTED[0] else {}


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

    def _plain_jit(self):
        """``jax.jit(fun)`` without compiler options, created on first use."""
        if self._plain is None:
            self._plain = jax.jit(self._fun, **self._kwargs)
        return self._plain

    def _target(self):
        """The ``jax.jit`` object a call with concrete arguments goes to."""
        return self.jitted if compiler_options() else self._plain_jit()

    def warm(self, *args) -> None:
        """Compile for ``args`` (arrays, or ``jax.ShapeDtypeStruct`` for those not computed yet)
        ahead of the call, into the cache the call uses (JAX's ahead-of-time ``lower().compile()``
        fills it), unless this function has been compiled before. Failures are left to the call."""
        target = self._target()
        if target._cache_size():
            return
        try:
            target.lower(*args).compile()
        except Exception:  # noqa: BLE001 - the call itself raises (or falls back to XLA's defaults)
            return
        warn_near_mapping_limit()

    def __call__(self, *args, **kwargs):
        if _inside_trace(args, kwargs):
            return self._plain_jit()(*args, **kwargs)
        target = self._target()
        cached = target._cache_size()
        out = self._call(*args, **kwargs)
        if self._target()._cache_size() > cached:  # compiled now: more of the process's code mappings used
            warn_near_mapping_limit()
        return out

    def _call(self, *args, **kwargs):
        if not compiler_options():
            return self._plain_jit()(*args, **kwargs)
        try:
            return self.jitted(*args, **kwargs)
        except Exception as err:
            if any(name in str(err) for name in FAST_COMPILE):  # an XLA without the option: its defaults
                _SUPPORTED[0] = False
            elif "compiler_options" not in str(err):  # (else traced with constant arguments only:
                raise  # not the outermost jit)
        return self._plain_jit()(*args, **kwargs)

    def __getattr__(self, name):  # lower, trace, _cache_size, ...
        return getattr(self.jitted, name)


def _inside_trace(args, kwargs) -> bool:
    """Whether the call happens while JAX traces an enclosing function (a tracer among the
    arguments)."""
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kwargs)))


def jit(fun, **kwargs):
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options` added (see :class:`_LazyJit`)."""
    return _LazyJit(fun, kwargs)


# Warn when a process holds more than this share of Linux's per-process memory mappings.
MAPPING_WARN_SHARE = 0.75


def mapping_limit() -> int | None:
    """Linux's per-process limit on memory mappings (``vm.max_map_count``; None elsewhere)."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def mappings_in_use() -> int | None:
    """How many memory mappings this process holds (lines of ``/proc/self/maps``; None elsewhere)."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def warn_near_mapping_limit() -> None:
    """After a compilation: a ``JaxmleWarning`` when the process holds more than
    ``MAPPING_WARN_SHARE`` of Linux's memory mappings. Each program XLA compiles for the CPU keeps
    its machine code mapped (a few hundred mappings per fit) for as long as JAX caches it, and a
    process past the limit aborts inside the next compilation ("LLVM compilation error: Cannot
    allocate memory"); fits of many distinct data shapes get there after ~170-280 of them
    (docs/guide/performance.md). Reading ``/proc/self/maps`` takes milliseconds; compilations take
    a tenth of a second and more."""
    limit = mapping_limit()
    used = mappings_in_use() if limit else None
    if not used or used <= MAPPING_WARN_SHARE * limit:
        return
    _warnings.warn(
        f"this process holds {used} of the {limit} memory mappings Linux allows it (vm.max_map_count): every "
        "program JAX has compiled keeps its machine code mapped, a few hundred mappings per fit, and past the limit "
        "the next compilation aborts the process. Fits of many distinct data shapes get there: fit them in one call "
        "(pad to a common n with zero weights and vmap jaxmle.make_solver), or call jax.clear_caches() from time to "
        "time, or raise the limit (sysctl vm.max_map_count=262144)", _warnings.JaxmleWarning)
