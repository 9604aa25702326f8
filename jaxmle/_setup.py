"""Validation and engine selection shared by :func:`maximize` and :func:`make_solver`."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import numpy as np
import optax

from . import _dtypes, _hessian_mode, _validation
from ._engine import METHOD_OPTIONS, METHODS, Engine, EngineKey, get_engine
from ._layout import Layout, build_layout
from ._objective import HESSIAN_MODES, ModelSpec

DEFAULT_MAX_ITER = {"newton": 100, "fisher": 100, "bhhh": 200, "bfgs": 1000, "lbfgs": 1000, "optax": 1000}


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Everything about a fit that does not depend on the data."""

    loglik: Callable
    log_prior: Callable | None
    expected_info: Callable | None
    expected_takes_weights: bool
    method: Any  # the name, or the optax transformation
    method_key: str  # the name, or "optax"
    options: tuple
    layout: Layout
    tol: float
    max_iter: int
    dtype: np.dtype
    chunk_size: int | None = None
    hessian: str = "auto"  # "auto" is resolved per model and shapes by :meth:`for_data`

    def for_data(self, params, data, n) -> "FitConfig":
        """This config with ``hessian="auto"`` resolved for ``loglik(params, data)`` with ``n``
        observations (:func:`jaxmle._hessian_mode.choose`); unchanged otherwise."""
        if self.hessian != "auto":
            return self
        return dataclasses.replace(self, hessian=_hessian_mode.choose(self.loglik, params, data, n))

    @property
    def method_label(self) -> str:
        if self.method_key != "optax":
            return self.method_key
        names = _optax_parts(getattr(self.method, "init", None))
        return "optax:" + "+".join(names) if names else "optax"

    def engine(self, scalar: bool, verbose: bool = False) -> Engine:
        if scalar and self.chunk_size:
            raise ValueError(
                "chunk_size evaluates per-observation contributions chunk by chunk, but loglik returns a scalar: "
                "return the (n,) vector of contributions"
            )
        if self.hessian == "auto":
            raise RuntimeError("hessian='auto' must be resolved (FitConfig.for_data) before building an engine")
        spec = ModelSpec(self.loglik, self.log_prior, self.expected_info, self.expected_takes_weights, scalar,
                         self.chunk_size, self.hessian)
        return get_engine(EngineKey(spec, self.layout, self.method, self.options, bool(verbose)))


def configure(loglik, params0, *, method, constraints, log_prior, fixed, tol, max_iter, options, expected_info,
              dtype, needs_expected: bool = False, chunk_size=None, hessian="auto") -> FitConfig:
    """Check every data-independent argument (naming it in the error) and return a :class:`FitConfig`."""
    if not callable(loglik):
        raise TypeError(f"loglik must be a function loglik(params, data), got {type(loglik).__name__}")
    if log_prior is not None and not callable(log_prior):
        raise TypeError(f"log_prior must be a function log_prior(params) -> scalar, got {type(log_prior).__name__}")
    method_key = check_method(method)
    opts = _validation.check_options(options, METHOD_OPTIONS[method_key], repr(method) if method_key != "optax" else "optax")
    np_dtype = _dtypes.resolve_dtype(dtype)
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER[method_key]
    if isinstance(max_iter, bool) or not (isinstance(max_iter, (int, np.integer)) and max_iter >= 0):
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if not (np.isscalar(tol) and np.isreal(tol) and 0 < tol < np.inf):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if (method_key == "fisher" or needs_expected) and expected_info is None:
        what = f"method={method!r}" if method_key == "fisher" else "cov_type='expected'"
        raise ValueError(f"{what} needs expected_info=fn(params, data) returning the (k, k) expected information")
    if expected_info is not None and not callable(expected_info):
        raise TypeError("expected_info must be a function fn(params, data) -> (k, k) array")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer (observations per chunk) or None, got {chunk_size!r}")
    if hessian != "auto" and hessian not in HESSIAN_MODES:
        raise ValueError(f"hessian: unknown {hessian!r}; expected 'auto' or one of {', '.join(map(repr, HESSIAN_MODES))}")
    takes_weights = expected_info is not None and "weights" in inspect.signature(expected_info).parameters
    layout = build_layout(params0, constraints, fixed)
    return FitConfig(
        loglik=loglik, log_prior=log_prior, expected_info=expected_info, expected_takes_weights=takes_weights,
        method=method if method_key == "optax" else method_key, method_key=method_key,
        options=tuple(sorted(opts.items())), layout=layout, tol=float(tol), max_iter=int(max_iter), dtype=np_dtype,
        chunk_size=None if chunk_size is None else int(chunk_size), hessian=hessian,
    )


def check_method(method) -> str:
    if isinstance(method, str):
        if method not in METHODS:
            raise ValueError(
                f"method: unknown {method!r}; expected one of {', '.join(METHODS)} or an optax.GradientTransformation"
            )
        return method
    if isinstance(method, optax.GradientTransformation):
        return "optax"
    raise TypeError(f"method must be a string or an optax.GradientTransformation, got {type(method).__name__}")


def _optax_parts(init) -> list:
    """The names of the stateful transformations an optax transformation is built from, read off
    its ``init`` function (``optax.adam(...)`` is a chain whose ``init`` is ``chain``'s own:
    ``["scale_by_adam"]``; stateless parts such as a learning-rate scale have none)."""
    root = (getattr(init, "__qualname__", "") or "").split(".")[0]
    if root != "chain":
        return [] if root in ("", "init_empty_state", "init_fn") else [root]
    names = []
    for cell in getattr(init, "__closure__", None) or ():
        inner = cell.cell_contents
        if isinstance(inner, (tuple, list)):
            names += [name for fn in inner if callable(fn) for name in _optax_parts(fn)]
    return names
