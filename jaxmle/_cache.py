"""``jaxmle.enable_compilation_cache``: keep compiled fits on disk for later processes.

The first fit of a model in a process spends most of its time in XLA compilation (about 1 s for a
Poisson regression on a 2-core CPU). JAX's persistent compilation cache stores compiled programs
on disk, keyed on the program, the backend and the versions; a later process with the same model
and shapes loads them instead (0.1-0.25 s instead of 1-1.5 s; ``benchmarks/RESULTS.md``). This
switches it on with settings that suit jaxmle: every program is cached, however fast it compiled
or small it is.
"""

from __future__ import annotations

import os
import pathlib

import jax


def default_cache_directory() -> pathlib.Path:
    """``$XDG_CACHE_HOME/jaxmle/xla``, or ``~/.cache/jaxmle/xla`` where that variable is unset."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "jaxmle" / "xla"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> pathlib.Path:
    """Switch on JAX's persistent compilation cache for this process; returns its directory.

    Args:
      directory: where compiled programs are kept (created if missing); default
        :func:`default_cache_directory`. Several processes may share it.

    Compiled programs are written from the next compilation on, for every ``jit`` in the process
    (jaxmle's and your own): this sets ``jax_compilation_cache_dir`` and caches programs of any
    compile time and size (``jax_persistent_cache_min_compile_time_secs`` = 0,
    ``jax_persistent_cache_min_entry_size_bytes`` = 0). Call it once, before the fits, in every
    script that should reuse the cache. Tracing and lowering (~0.3-0.5 s for a first fit) are
    not cached by JAX.
    """
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path (str or os.PathLike) or None, got {type(directory).__name__}")
    path = pathlib.Path(directory).expanduser() if directory is not None else default_cache_directory()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


__all__ = ["default_cache_directory", "enable_compilation_cache"]
