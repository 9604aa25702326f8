"""The :class:`Model` record, :func:`fit`, and helpers shared by the model families.

A ready-made model is data, not behaviour: its log-likelihood, starting values, supports,
expected information and simulator are plain functions, defined once at module level (or as
hashable callables), so that every ``jaxmle.models.logit()`` is equal to every other and all fits
of the same model with the same data shapes share one compiled solver.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validation
from .._maximize import maximize
from .._result import MLEResult

# Covariances built from the observed information (the Hessian) of the log-likelihood.
_HESSIAN_COV_TYPES = ("oim", "robust", "cluster")


@dataclasses.dataclass(frozen=True)
class Model:
    """A ready-made log-likelihood with everything :func:`jaxmle.maximize` can use.

    Attributes:
      name: a short readable name ("logit", "weibull", ...).
      loglik: ``loglik(params, data) -> (n,)`` per-observation log-likelihood contributions.
      start: ``start(data) -> params`` data-based starting values (NumPy, eager), a dict pytree.
      constraints: supports for :func:`jaxmle.maximize` (``{"sigma": "positive"}``).
      expected_info: ``expected_info(params, data, weights=None) -> (k, k)`` expected Fisher
        information of the flat constrained parameters in ``res.names`` order (dict keys sorted,
        each leaf raveled in C order), or None where it has no closed form.
      simulate: ``simulate(params, key, data) -> data`` a new data set of the same shapes drawn from
        the model at ``params`` (the parametric bootstrap's simulator), or None.
      cov_type: the covariance :func:`fit` reports unless told otherwise.
      hessian: how :func:`fit` computes Hessians unless told otherwise (``maximize``'s
        ``hessian=``; "auto" lets ``maximize`` choose from the log-likelihood's structure).
      smooth: False when the log-likelihood is not twice differentiable in the parameters at the
        optimum (the Laplace/LAD model): covariances from the observed information (oim, robust,
        cluster) then do not estimate the sampling variance and :func:`fit` refuses them.
      doc: the parameterisation and the loss the model corresponds to (the factory's docstring).

    ``maximize`` and ``bootstrap`` call these functions in float64; called directly, they compute in
    JAX's default float32 unless run inside ``jax.enable_x64(True)``.
    """

    name: str
    loglik: Callable
    start: Callable
    constraints: dict = dataclasses.field(default_factory=dict, hash=False)
    expected_info: Callable | None = None
    simulate: Callable | None = None
    cov_type: str = "oim"
    hessian: str = "auto"
    smooth: bool = True
    doc: str = dataclasses.field(default="", compare=False, repr=False)

    def __repr__(self) -> str:
        extras = [n for n in ("expected_info", "simulate") if getattr(self, n) is not None]
        return f"Model({self.name!r}; constraints={self.constraints}; has {', '.join(extras) or 'no extras'})"


def fit(
    model: Model,
    data: Mapping,
    params0: Any = None,
    *,
    method: str = "newton",
    cov_type: str | None = None,
    weights: Any = None,
    cluster: Any = None,
    fixed: Any = None,
    log_prior: Callable | None = None,
    tol: float = 1e-10,
    max_iter: int | None = None,
    options: dict | None = None,
    cluster_correction: bool = True,
    dtype: str = "float64",
    chunk_size: int | None = None,
    hessian: str | None = None,
    verbose: bool = False,
) -> MLEResult:
    """Fit a ready-made model: :func:`jaxmle.maximize` with the model's start, supports and information.

    The options are :func:`jaxmle.maximize`'s own keywords, spelled out (no ``**kwargs``), except
    ``constraints`` and ``expected_info``, which come from the model.

    Args:
      model: a :class:`Model` (``jaxmle.models.logit()``, ...).
      data: a dict with ``"X"`` (n, p) and ``"y"`` (n,) (plus ``"censored"`` etc. where the model
        reads them); :func:`design` builds one from a formula.
      params0: starting values; default ``model.start(data)``.
      method: as :func:`jaxmle.maximize`; ``"fisher"`` uses ``model.expected_info``.
      cov_type: as :func:`jaxmle.maximize`; default ``model.cov_type`` (``"oim"``, or
        ``"expected"`` for the Laplace model). ``"expected"`` uses ``model.expected_info``.
      weights: passed to :func:`jaxmle.maximize` unchanged.
      cluster: passed to :func:`jaxmle.maximize` unchanged.
      fixed: passed to :func:`jaxmle.maximize` unchanged.
      log_prior: passed to :func:`jaxmle.maximize` unchanged.
      tol: passed to :func:`jaxmle.maximize` unchanged.
      max_iter: passed to :func:`jaxmle.maximize` unchanged.
      options: passed to :func:`jaxmle.maximize` unchanged.
      cluster_correction: passed to :func:`jaxmle.maximize` unchanged.
      dtype: passed to :func:`jaxmle.maximize` unchanged.
      chunk_size: passed to :func:`jaxmle.maximize` unchanged.
      hessian: as :func:`jaxmle.maximize`; default ``model.hessian``.
      verbose: passed to :func:`jaxmle.maximize` unchanged.

    Returns:
      The :class:`jaxmle.MLEResult` of ``maximize(model.loglik, params0, data, ...)``.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a jaxmle.models.Model (e.g. jaxmle.models.logit()), got {type(model).__name__}")
    cov_type = model.cov_type if cov_type is None else cov_type
    if model.expected_info is None and (method == "fisher" or cov_type == "expected"):
        what = "method='fisher'" if method == "fisher" else "cov_type='expected'"
        raise ValueError(f"{what} needs the expected information, which the {model.name} model does not have in closed form")
    if not model.smooth and cov_type in _HESSIAN_COV_TYPES:
        raise ValueError(
            f"cov_type={cov_type!r} uses the observed information (Hessian), which does not estimate the sampling "
            f"variance of the non-smooth {model.name} model; use cov_type='expected' (the default) or 'opg'"
        )
    if params0 is None:
        _validation.check_data(_validation.normalize_data(data))  # NaN/inf named as data, not as a bad start
        params0 = model.start(data)
    return maximize(
        model.loglik, params0, data, method=method, cov_type=cov_type, constraints=model.constraints,
        log_prior=log_prior, weights=weights, cluster=cluster, fixed=fixed, tol=tol, max_iter=max_iter,
        options=options, expected_info=model.expected_info, cluster_correction=cluster_correction,
        dtype=dtype, chunk_size=chunk_size, hessian=model.hessian if hessian is None else hessian, verbose=verbose,
    )


# ------------------------------------------------------------------------------------------------
# Helpers shared by the families
# ------------------------------------------------------------------------------------------------
def design_matrix(data) -> np.ndarray:
    """``data["X"]`` as a float64 (n, p) NumPy array, with a clear error when it is missing."""
    if not isinstance(data, Mapping) or "X" not in data or "y" not in data:
        raise ValueError('data must be a dict with "X" (n, p) and "y" (n,); build one with jaxmle.models.design')
    x = np.asarray(data["X"], dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f'data["X"] has shape {x.shape}; expected a (n, p) design matrix')
    return x


def response(data) -> np.ndarray:
    return np.asarray(data["y"], dtype=np.float64)


def lstsq(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``target`` on ``x``, shape (p,) (or (p, m) for a (n, m) target)."""
    return np.linalg.lstsq(x, target, rcond=None)[0]


def weighted_gram(x, v=None, weights=None):
    """``X^T diag(w v) X``, shape (p, p): the information of a linear predictor with per-observation
    curvature ``v`` (None: 1) and frequency weights ``w`` (None: 1)."""
    if v is None and weights is None:
        return x.T @ x
    wv = weights if v is None else (v if weights is None else weights * v)
    return x.T @ (wv[:, None] * x)


def total_weight(data, weights=None):
    """n (or the sum of the weights), as a JAX scalar."""
    if weights is None:
        return jnp.asarray(data["y"].shape[0], dtype=data["X"].dtype)
    return jnp.sum(weights)


def assemble_info(params, blocks: dict):
    """Expected information (k, k) in the flat order of ``params`` from named blocks.

    ``blocks[(a, b)]`` is the (size_a, size_b) block for leaves ``params[a]`` and ``params[b]``
    (each raveled in C order); a missing block is zero and ``(b, a)`` defaults to the transpose of
    ``(a, b)``. The flat order is that of ``jax.tree_util.tree_leaves(params)`` (sorted dict keys),
    the order of ``res.names``.
    """
    keys = [path[0].key for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    sizes = {k: int(np.size(params[k])) for k in keys}
    dtype = jnp.result_type(*blocks.values())
    rows = []
    for a in keys:
        row = []
        for b in keys:
            if (a, b) in blocks:
                blk = jnp.reshape(blocks[(a, b)], (sizes[a], sizes[b]))
            elif (b, a) in blocks:
                blk = jnp.reshape(blocks[(b, a)], (sizes[b], sizes[a])).T
            else:
                blk = jnp.zeros((sizes[a], sizes[b]), dtype=dtype)
            row.append(blk)
        rows.append(jnp.concatenate(row, axis=1))
    return jnp.concatenate(rows, axis=0)


# Below this argument log_gamma_ratio subtracts two log-gammas (absolute error ~2 eps x log x,
# 1e-13 at x = 100); above it, Stirling's series with four correction terms (truncation < 1e-21).
_STIRLING_FROM = 100.0


def _stirling_correction(x):
    """``log G(x) - [(x - 1/2) log x - x + log(2 pi) / 2]`` for x >= ``_STIRLING_FROM``."""
    r = 1.0 / x
    r2 = r * r
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)))


def log_gamma_ratio(a, x):
    """``log G(x + a) - log G(x)`` for x > 0, a >= 0, accurate (with its derivatives) as x grows.

    The plain difference of two log-gammas, each ~ x log x, loses ~eps x log x of absolute accuracy:
    a whole unit per observation by x = 1e15, where a Student-t's nu or a negative binomial's
    1/alpha goes when the data are Gaussian or Poisson. Written with Stirling's series, the
    difference is ``(x - 1/2) log1p(a/x) + a log(x + a) - a`` plus the difference of the series'
    small corrections, with no large terms to cancel. (``jax.scipy.special.betaln`` has the same
    aim but, in jax 0.10-0.11, errs by up to 1e-6 for arguments between 8 and 100.)"""
    large = x >= _STIRLING_FROM
    xs = jnp.where(large, x, _STIRLING_FROM)  # each branch at a safe argument: finite derivatives
    xd = jnp.where(large, 1.0, x)
    stirling = ((xs - 0.5) * jnp.log1p(a / xs) + a * jnp.log(xs + a) - a
                + _stirling_correction(xs + a) - _stirling_correction(xs))
    direct = jax.lax.lgamma(xd + a) - jax.lax.lgamma(xd)
    return jnp.where(large, stirling, direct)


def replace_y(data, y):
    """A copy of the data dict with ``"y"`` replaced (cast to the dtype of the old ``"y"``)."""
    return {**data, "y": jnp.asarray(y).astype(jnp.asarray(data["y"]).dtype)}
