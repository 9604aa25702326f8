"""``jaxmle.maximize``: validate eagerly, solve in one compiled call, assemble the covariance."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import numpy as np
import optax

from . import _covariance, _dtypes, _pytree, _status, _validation, _warnings
from ._layout import Layout
from ._newton import FLAT_RATIO, NEG_CURV_TOL, SecondOrderSolver, flat_step, modified_newton_direction, scaled_eigh
from ._numerics import NEAR_ZERO, SINGULAR_RTOL, generalized_inverse, relative_size
from ._engine import Engine, fit_static_args
from ._setup import FitConfig, configure
from ._result import MLEResult
from ._warnings import BoundaryWarning, ConvergenceWarning, HessianWarning, JaxmleWarning

# A bounded parameter is on its boundary when its unconstrained value u ran beyond +-BOUNDARY_U
# (exp(-25) ~ 1e-11 of the scale) *and* the log posterior has gone flat along it: curvature
# -d2 log L / du2 below BOUNDARY_FLATNESS * max(|log L|, 1). The curvature in u does not depend on
# the parameter's units (u = log theta shifts with them); |u| alone does: sigma = 1e12 in dollars
# has u = 27.6 but the curvature 2n of an interior maximum.
BOUNDARY_U = 25.0
BOUNDARY_FLATNESS = 1e-6
# ... or where, flat so, the Newton step along u still moves it by more than BOUNDARY_STEP: near a
# bound at u = -inf (or +inf) the log-likelihood approaches its supremum like c + a e^u, whose
# Newton step in u is -1 however far u has gone (an interior maximum's is ~0 once converged). Where
# a fit to a boundary stops depends on its path (alpha = 1e-11 or 1e-10 for NB2 on equidispersed
# counts): |u| alone flagged some such fits and not others.
BOUNDARY_STEP = 0.5


def maximize(
    loglik: Callable,
    params0: Any,
    data: Any = None,
    *,
    method: str | optax.GradientTransformation = "newton",
    cov_type: str = "oim",
    constraints: Any = None,
    log_prior: Callable | None = None,
    weights: Any = None,
    cluster: Any = None,
    fixed: Any = None,
    tol: float = 1e-10,
    max_iter: int | None = None,
    options: dict | None = None,
    expected_info: Callable | None = None,
    cluster_correction: bool = True,
    dtype: str = "float64",
    verbose: bool = False,
    chunk_size: int | None = None,
    hessian: str = "auto",
) -> MLEResult:
    """Maximise ``sum_i w_i loglik_i(params) (+ log_prior(params))`` and return estimates with covariance.

    Args:
      loglik: ``loglik(params, data)`` returning per-observation log-likelihood contributions,
        shape (n,), or the scalar total (then opg/robust/cluster covariance, BHHH and weights are
        unavailable). Must be written in JAX (``jax.numpy``, ``jax.scipy.stats``).
      params0: starting values, any pytree of float arrays; its structure is that of ``res.params``. A
        pandas Series of scalars (statsmodels' ``start_params`` with names) is the dict of its labels.
      data: a pytree whose leaves share a leading observation axis of length n (a pandas DataFrame
        becomes a dict of columns), or None.
      method: "newton" (damped Newton, safeguarded against indefinite Hessians), "fisher" (scoring
        with ``expected_info``), "bhhh", "bfgs", "lbfgs", or any ``optax.GradientTransformation``
        (run on the mean negative log-likelihood).
      cov_type: "oim", "opg", "robust", "cluster", "expected" or "none" (see
        :mod:`jaxmle._covariance` for the formulas).
      constraints: a support per leaf ("real", "positive", "unit_interval", "simplex",
        ``(low, high)``) as a single spec or a pytree prefix of ``params0`` (a dict may name a
        subset of keys). Optimisation is unconstrained; ``cov`` is for the constrained values.
      log_prior: ``log_prior(params) -> scalar``: MAP (penalised) estimation; ``cov`` is then the
        Laplace covariance (inverse negative Hessian of the log posterior).
      weights: frequency weights (n,) multiplying each contribution.
      cluster: labels (n,) for ``cov_type="cluster"``.
      fixed: a pytree prefix of booleans (per leaf or per element) holding parameters at their start
        (the value as given: a float32 ``jnp.array([0.1])`` holds 0.10000000149; give fixed values
        as Python floats or float64 NumPy arrays to hold exactly 0.1).
      tol: tolerance on the relative gradient ``max_j |g_j| max(|z_j|,1) / max(|f|,1)`` (newton,
        fisher and bhhh also stop when the next step is below the rounding level of the parameters;
        newton also two full steps after the gain it predicts fell below the log-likelihood's
        rounding level, where the gradient's rounding noise is above tol: float32, or an
        ill-conditioned design such as a covariate far from zero beside an intercept; bfgs, lbfgs
        and optax when the relative gradient is below the dtype's epsilon, which only float32
        reaches before the default 1e-10).
      max_iter: iteration limit (default 100 for newton/fisher, 200 bhhh, 1000 otherwise); reaching
        it gives ``converged=False`` and a :class:`ConvergenceWarning`, never an exception.
      options: method-specific settings (newton/fisher/bhhh: ``max_halvings``; bfgs:
        ``max_linesearch_steps``; lbfgs: ``memory_size``, ``max_linesearch_steps``).
      expected_info: ``fn(params, data) -> (k, k)`` expected Fisher information of the flat
        constrained parameters, for ``method="fisher"`` and ``cov_type="expected"``; with
        ``weights`` it must accept a ``weights=`` keyword.
      cluster_correction: apply the G/(G-1) factor to the cluster-robust covariance.
      dtype: "float64" (default, computed under a scoped ``jax.enable_x64``) or "float32".
      verbose: print an iteration log (like Stata's ``ml`` log).
      chunk_size: evaluate the log-likelihood, gradient, Hessian and score products over chunks of
        this many observations (a ``lax.scan``): peak memory O(chunk_size k + k^2) instead of
        O(n k), the same results. For data that fit but whose derivatives do not.
      hessian: how Hessians are computed; the same numbers either way (to rounding), only the
        speed differs. "batched": all directions in one forward-over-reverse pass (fastest where
        parameters enter through products with the data, e.g. regression coefficients);
        "columns": the gradient linearized once, then one column per direction (several times
        faster where a scalar parameter enters a transcendental function
        of every observation, e.g. a Student-t's degrees of freedom); "auto" (default) picks
        "columns" exactly in that case, from the jaxpr of ``loglik`` (see the performance guide).

    Returns:
      An :class:`MLEResult`.
    """
    fit = prepare(
        loglik, params0, data, method=method, cov_type=cov_type, constraints=constraints, log_prior=log_prior,
        weights=weights, cluster=cluster, fixed=fixed, tol=tol, max_iter=max_iter, options=options,
        expected_info=expected_info, dtype=dtype, verbose=verbose, chunk_size=chunk_size, hessian=hessian,
    )
    with _dtypes.precision_scope(fit.dtype):
        out, params_hat, parts = fit.engine.fit(fit.params, fit.data, fit.weights, *fit.limits(), fit.codes,
                                                **fit.static_args())
        if int(out.status) == _status.NONFINITE and int(out.n_iter) == 0:  # not finite at params0: why?
            _check_start(fit.engine.start_check(fit.params, fit.data, fit.weights), fit.scalar, log_prior)
            _check_start_derivatives(fit.engine.score_check(fit.params, fit.data, fit.weights), fit.scalar)
        out, params_hat, parts = fit.to_host(out, params_hat, parts)
        status = fit.final_status(out, parts)
    return fit.result(out, params_hat, parts, status, cluster_correction)


@dataclasses.dataclass(frozen=True)
class PreparedFit:
    """A validated fit, ready to run: what :func:`maximize` (and :func:`jaxmle.multistart`, for a
    batch of starts) passes to the engine's compiled ``fit`` and needs to assemble the result.

    ``params`` and ``data`` are cast to ``dtype`` (data on the device); ``weights`` (n,) is ones
    without user weights (``user_weights`` is then None); ``codes``/``n_groups`` the cluster codes
    (None/None unless ``cov_type="cluster"``), ``clusters`` the number of clusters with weight."""

    cfg: FitConfig
    engine: Engine
    cov_type: str
    scalar: bool
    n: int | None
    params: Any
    data: Any
    weights: np.ndarray
    user_weights: np.ndarray | None
    codes: np.ndarray | None
    n_groups: int | None
    clusters: int | None
    is_map: bool

    @property
    def dtype(self):
        return self.cfg.dtype

    @property
    def layout(self) -> Layout:
        return self.cfg.layout

    def limits(self) -> tuple:
        """``(tol, max_iter)`` as the arrays the compiled fit takes."""
        return np.asarray(self.cfg.tol, self.dtype), np.asarray(self.cfg.max_iter, np.int32)

    def static_args(self) -> dict:
        """The compiled fit's static arguments for ``cov_type`` (:func:`jaxmle._engine.fit_static_args`)."""
        return fit_static_args(self.cov_type, self.n_groups)

    @staticmethod
    def to_host(out, params_hat, parts):
        """The compiled fit's outputs as NumPy arrays (estimates and matrices in float64)."""
        to64 = functools.partial(jax.tree_util.tree_map, lambda x: np.asarray(x, dtype=np.float64))
        return jax.tree_util.tree_map(np.asarray, out), to64(params_hat), to64(parts)

    def final_status(self, out, parts) -> int:
        """The fit's status code; a convergence of a method other than Newton (which tests this in its
        loop) is checked for a maximum at infinity (:func:`_runs_off_to_infinity`). Call inside the
        fit's precision scope: the check may compile an evaluation."""
        status = int(out.status)
        newton = isinstance(self.engine.solver, SecondOrderSolver) and self.engine.solver.curvature == "hessian"
        if status == _status.CONVERGED and not newton:
            if _runs_off_to_infinity(self.engine, self.layout, out, parts, self.data, self.weights):
                status = _status.UNBOUNDED
        return status

    def result(self, out, params_hat, parts, status: int, cluster_correction: bool = True) -> MLEResult:
        """The :class:`MLEResult` of one fit's host outputs (:meth:`to_host`) and final status: the
        warnings (convergence, boundary, identification) and the covariance."""
        layout, cov_type, tol = self.layout, self.cov_type, self.cfg.tol
        converged = status == _status.CONVERGED
        boundary = tuple(_boundary_names(layout, np.asarray(out.u), parts.hess_z, float(out.log_posterior),
                                         parts.grad_z))
        if not converged:
            detail = (f"the Newton steps stopped shrinking at relative gradient {float(out.grad_norm):.3e}: the "
                      "estimates of real-valued parameters are where the iterations stopped, not a maximum"
                      if status == _status.UNBOUNDED else f"relative gradient {float(out.grad_norm):.3e} > tol={tol:g}")
            if boundary and status != _status.UNBOUNDED:
                detail += (f"; {', '.join(boundary)} ran to the boundary of its support before the gradient vanished: "
                           "the log-likelihood may have no finite maximum there (e.g. a scale going to 0 when the "
                           "data are fitted exactly)")
            _warnings.warn(
                f"maximize did not converge ({_status.message(status)}) after {int(out.n_iter)} iterations; {detail}",
                ConvergenceWarning)
        if cov_type == "cluster" and self.clusters - 1 < layout.k_free:
            _warnings.warn(
                f"cov_type='cluster' with {self.clusters} clusters for {layout.k_free} free parameters: the "
                f"cluster-robust covariance has rank at most {self.clusters - 1}, so joint tests of more than "
                f"{self.clusters - 1} restrictions are impossible and the standard errors rest on very few clusters",
                JaxmleWarning)
        covres = _covariance.assemble(
            cov_type, parts.hess_z, parts.jac, parts.meat, parts.expected, self.clusters, cluster_correction,
            prior_curvature=parts.prior_curvature,
        )
        unidentified = _diagnose(layout, covres, parts.jac, converged)
        _warn_boundary(boundary)
        on_boundary = np.isin(np.asarray(layout.names), boundary)
        cov, cov_g = (_mask(m, on_boundary) for m in (covres.cov, covres.cov_generalized))
        n, w_np = self.n, self.user_weights
        return MLEResult(
            params=params_hat,
            cov=cov,
            hessian=parts.hess_theta,
            loglik=float(parts.loglik),
            log_prior=float(parts.log_prior),
            nobs=n,
            wnobs=None if n is None else (float(n) if w_np is None else float(np.sum(w_np))),
            converged=converged,
            n_iter=int(out.n_iter),
            grad_norm=float(out.grad_norm),
            status=_status.message(status),
            method=self.cfg.method_label,
            cov_type=cov_type,
            names=layout.names,
            fixed=layout.fixed_theta,
            unidentified=unidentified,
            boundary=boundary,
            is_map=self.is_map,
            n_groups=self.clusters,
            info={
                "n_halvings": int(out.n_halvings),
                "curvature_min": float(out.curv_min),
                "curvature_max": float(out.curv_max),
                "information_min_eig": float(covres.info_min_eig),
                **({"df_effective": _covariance.effective_df(parts.hess_z, parts.prior_curvature)}
                   if self.is_map else {}),
            },
            _layout=layout,
            _config=self.cfg,
            _scalar=self.scalar,
            _u=np.asarray(out.u, dtype=np.float64),
            _hess_z=np.asarray(parts.hess_z, dtype=np.float64),
            _cov_g=cov_g,
            _null=covres.null_theta,
        )


def prepare(loglik, params0, data, *, method, cov_type, constraints, log_prior, weights, cluster, fixed, tol,
            max_iter, options, expected_info, dtype, verbose=False, chunk_size=None, hessian="auto") -> PreparedFit:
    """Check every argument of :func:`maximize` (naming it in the error), cast the start and the
    data, resolve the Hessian mode and return the :class:`PreparedFit` (its engine's compiled
    functions are cached per model and shapes)."""
    if cov_type not in _covariance.COV_TYPES:
        raise ValueError(f"cov_type: unknown {cov_type!r}; expected one of {', '.join(_covariance.COV_TYPES)}")
    if getattr(loglik, "smooth", True) is False and cov_type in ("oim", "robust", "cluster"):
        raise ValueError(
            f"cov_type={cov_type!r} uses the observed information (Hessian), which does not estimate the sampling "
            "variance of this non-smooth log-likelihood (the Laplace / least-absolute-deviations model): use "
            "cov_type='expected' with expected_info= (jaxmle.models.fit does), or 'opg'")
    params0 = _pytree.from_series(params0)
    cfg = configure(
        loglik, params0, method=method, constraints=constraints, log_prior=log_prior, fixed=fixed, tol=tol,
        max_iter=max_iter, options=options, expected_info=expected_info, dtype=dtype,
        needs_expected=cov_type == "expected", chunk_size=chunk_size, hessian=hessian,
    )
    _validation.check_cluster_choice(cov_type, cluster)
    layout, np_dtype = cfg.layout, cfg.dtype
    data = _validation.normalize_data(data)
    n = _validation.check_data(data)
    w_np = _validation.check_weights(weights, n)
    codes, n_groups = _validation.check_cluster(cluster, n) if cov_type == "cluster" else (None, None)
    # clusters whose observations all weigh 0 are not in the sample: not counted in G (the G/(G-1)
    # factor, the rank), as if their rows were dropped (n_groups stays the codes' range for the sums)
    g_eff = None if codes is None else _validation.clusters_with_weight(codes, n_groups, w_np)
    if w_np is not None and expected_info is not None and not cfg.expected_takes_weights:
        raise ValueError("expected_info must accept a weights= keyword when weights are given")

    with _dtypes.precision_scope(np_dtype):
        params_cast = _dtypes.cast_params(params0, np_dtype)
        data_cast = _dtypes.to_device(_dtypes.cast_data(data, np_dtype))
        scalar, n = _check_loglik_output(loglik, params_cast, data_cast, n)
        cfg = cfg.for_data(params_cast, data_cast, n)
        _check_callable_output("log_prior", log_prior, (params_cast,), ())
        _check_scalar_compatible(scalar, cfg.method_key, cov_type, w_np)
        w = np.ones((n if n is not None else 1,), np_dtype) if w_np is None else w_np.astype(np_dtype)
        _check_callable_output("expected_info", expected_info, (params_cast, data_cast), (layout.k, layout.k),
                               {"weights": w} if cfg.expected_takes_weights else {})
        engine = cfg.engine(scalar, verbose)
    return PreparedFit(cfg=cfg, engine=engine, cov_type=cov_type, scalar=scalar, n=n, params=params_cast,
                       data=data_cast, weights=w, user_weights=w_np, codes=codes, n_groups=n_groups, clusters=g_eff,
                       is_map=log_prior is not None)


def _runs_off_to_infinity(engine, layout: Layout, out, parts, data, weights) -> bool:
    """Newton's test for a maximum at infinity (``SecondOrderSolver.unbounded``), applied after a
    method other than Newton (first-order, or Fisher scoring / BHHH, whose curvature is not the
    Hessian) reported convergence: from the estimate, the modified Newton step in the
    real-support parameters is above ``FLAT_STEP`` (relative, :func:`flat_step`) and the next one, from where it
    leads, is no smaller (above ``FLAT_RATIO`` of it). A
    gradient that is small only because the log-likelihood flattens out towards infinity (perfect
    separation) meets the gradient test, but there Newton's steps do not shrink (and the
    log-likelihood does not fall along them). The second evaluation is compiled and run only when
    the first step is not negligible (NumPy otherwise); where it is negligible because the Hessian
    is exactly flat along some direction, :func:`_rises_to_a_plateau` judges instead."""
    mask = layout.unbounded_free
    if not mask.any():
        return False
    u = np.asarray(out.u)
    z = u[np.asarray(layout.free_u, dtype=np.int64)]
    eig = scaled_eigh(-np.asarray(parts.hess_z, dtype=np.float64), np)  # the objective -log posterior's
    if not eig.lam[0] >= -NEG_CURV_TOL * np.max(np.abs(eig.lam)):
        return False  # negative curvature: a saddle (diagnosed by the Hessian check), not a flat rise
    step = modified_newton_direction(-np.asarray(parts.grad_z, dtype=np.float64), eig, z, xp=np)
    size = float(relative_size(np.where(mask, step, 0.0), z, np))
    if not (np.isfinite(size) and size > flat_step(u.dtype)):
        return _rises_to_a_plateau(engine, out, parts.hess_z, z, mask, data, weights)
    f_next, g_next, m_next = (np.asarray(x, dtype=np.float64)
                              for x in engine.evaluate_at(u, (z + step).astype(u.dtype), data, weights))
    f_now = -float(out.log_posterior)
    if not (np.isfinite(f_next) and f_next <= f_now + 10 * np.finfo(u.dtype).eps * abs(f_now)):
        return False  # (at infinity the rise can be below f's rounding level: not required)
    next_step = modified_newton_direction(g_next, scaled_eigh(m_next, np), z + step, step, np)
    # both steps relative to the point between them (as Newton's in-loop test): relative to where
    # each starts, a coordinate growing as it runs off (5.2 -> 6.3) made equal steps look 16% shorter
    last = float(relative_size(np.where(mask, step, 0.0), z + step, np))
    return float(relative_size(np.where(mask, next_step, 0.0), z + step, np)) > FLAT_RATIO * last


def _rises_to_a_plateau(engine, out, hess_z, z, mask, data, weights) -> bool:
    """Whether the log posterior, flat at the estimate along a null direction of its Hessian
    ``hess_z`` (k_free, k_free), rises towards it from behind and stays flat ahead: a supremum at
    infinity whose approach has saturated in floating point. BHHH takes long steps on perfectly
    separated data and stops where every fitted probability is exactly 0 or 1: the
    gradient and Hessian are exactly 0 there, so Newton's steps (:func:`_runs_off_to_infinity`)
    have nothing to judge.

    ``p`` is the estimate's component in the Hessian's null space, in the real-support parameters
    (``mask``). Moving it back to 0 (``z - p``) lowers the log posterior beyond its rounding level
    and doubling it (``z + p``) does not: running off to infinity along ``p``. Where the
    log posterior is constant along ``p`` (parameters not identified, e.g. collinear covariates) both
    points are level with ``z``; at a degenerate finite maximum ``z + p`` is lower. Two evaluations,
    only where the Hessian is singular."""
    _, null, _, _ = generalized_inverse(-np.asarray(hess_z, dtype=np.float64))
    if null.shape[1] == 0:
        return False
    p = np.where(mask, null @ np.linalg.lstsq(null, z.astype(np.float64), rcond=None)[0], 0.0)
    if not float(relative_size(p, z, np)) > flat_step(z.dtype):
        return False
    f_now = -float(out.log_posterior)
    level = np.sqrt(np.finfo(z.dtype).eps) * max(abs(f_now), 1.0)
    u = np.asarray(out.u)
    f_behind, f_ahead = (float(engine.evaluate_at(u, (z + sign * p).astype(z.dtype), data, weights)[0])
                         for sign in (-1.0, 1.0))
    return np.isfinite(f_behind) and f_behind > f_now + level and np.isfinite(f_ahead) and f_ahead <= f_now + level


def _mask(cov, rows):
    """A copy of ``cov`` with NaN rows and columns ``rows`` (None stays None)."""
    if cov is None:
        return None
    cov = cov.copy()
    cov[rows, :] = np.nan
    cov[:, rows] = np.nan
    return cov


def _check_loglik_output(loglik, params, data, n):
    """Return (scalar?, n) from the abstract output of ``loglik``; raise for a wrong shape."""
    try:
        out = jax.eval_shape(loglik, params, data)
    except Exception as err:  # noqa: BLE001 - re-raised naming the callable
        raise _validation.named_error(err, "loglik(params0, data)") from err
    shape = out.shape
    if not np.issubdtype(out.dtype, np.floating):
        raise TypeError(f"loglik returned dtype {out.dtype}; expected real floating-point log-likelihood values")
    if shape == ():
        return True, n
    if len(shape) == 1 and (n is None or shape[0] == n):
        return False, shape[0]
    expected = f"({n},)" if n is not None else "(n,)"
    raise ValueError(
        f"loglik returned shape {shape}; expected per-observation contributions of shape {expected} or a scalar"
    )


def _check_callable_output(name: str, fn, args: tuple, shape: tuple, kwargs=None) -> None:
    """Raise a ValueError naming ``name`` when ``fn(*args, **kwargs)`` (traced abstractly) does not
    return an array of ``shape`` (nothing to check when ``fn`` is None)."""
    if fn is None:
        return
    what = "a scalar" if shape == () else f"an array of shape {shape}"
    try:
        out = jax.eval_shape(functools.partial(fn, **(kwargs or {})), *args)
    except Exception as err:  # noqa: BLE001 - re-raised naming the argument
        raise _validation.named_error(err, f"{name} at params0") from err
    if not hasattr(out, "shape"):  # e.g. jax.hessian of a dict of parameters: a nested dict
        raise ValueError(f"{name} returned a {type(out).__name__}; expected {what}"
                         + (" (the flat constrained parameters' matrix, in the order of names)" if shape else ""))
    if out.shape != shape:
        raise ValueError(f"{name} returned shape {out.shape}; expected {what}")


def _check_scalar_compatible(scalar, method_key, cov_type, weights):
    if not scalar:
        return
    needs = []
    if cov_type in _covariance.NEEDS_SCORES:
        needs.append(f"cov_type={cov_type!r}")
    if method_key == "bhhh":
        needs.append("method='bhhh'")
    if weights is not None:
        needs.append("weights")
    if needs:
        raise ValueError(
            f"{' and '.join(needs)} {'need' if len(needs) > 1 else 'needs'} per-observation contributions, but "
            "loglik returns a scalar: "
            "return the (n,) vector of contributions instead of their sum"
        )


def _check_start(start, scalar, log_prior):
    n_bad, first, prior = int(start[0]), np.asarray(start[1]), np.asarray(start[2])
    if n_bad:
        if scalar:
            raise ValueError("loglik is not finite at params0; choose another start")
        raise ValueError(
            f"loglik is not finite at params0 for {n_bad} observation(s) (first indices {first[first >= 0].tolist()}); "
            "choose a start where every contribution is finite, or check those observations (a value outside the "
            "model's support, e.g. a negative count, is impossible at every start; an overflow or log(0) in the "
            "model calls for log space: jax.nn.log_sigmoid, logsumexp, log1p)"
        )
    if log_prior is not None and not np.isfinite(prior):
        raise ValueError("log_prior is not finite at params0")


def _check_start_derivatives(check, scalar) -> None:
    """Raise where the log-likelihood is finite at params0 but its derivatives are not (``check``:
    the engine's ``score_check``): the fit cannot take a first step."""
    n_bad, first = int(check[0]), np.asarray(check[1])
    fix = ("a derivative infinite or undefined there: sqrt(r**2) at r = 0, log(x) or x**0.5 at x = 0, or a jnp.where "
           "whose unused branch is not finite (its gradient is still NaN: compute that branch on a safe input); "
           "choose another start or rewrite the model")
    if n_bad and not scalar:
        raise ValueError(
            f"loglik is finite at params0 but its gradient is not, for {n_bad} observation(s) (first indices "
            f"{first[first >= 0].tolist()}): {fix}")
    what = "gradient" if n_bad else "Hessian (or the log prior's derivatives)"
    raise ValueError(f"loglik is finite at params0 but its {what} is not: {fix}")


def _diagnose(layout: Layout, covres, jac, converged: bool = True) -> tuple:
    """Warn about a singular / indefinite information and return the names involved. After a fit
    that did not converge, the point is where the iterations stopped, not a maximum: the warning
    says so instead of diagnosing the model (a random walk's AR(1) after BHHH's max_iter is not a
    non-identified model)."""
    if not covres.bad_z.any() and covres.hessian_ok:
        return ()
    bad_theta = (np.abs(np.nan_to_num(np.asarray(jac))) @ covres.bad_z.astype(float)) > 0
    names = tuple(n for n, b in zip(layout.names, bad_theta) if b)
    if not covres.hessian_ok and not converged:
        affected = (f"the parameters involved get NaN standard errors: {', '.join(names)}" if names else
                    "the chosen covariance does not involve that direction: no standard error is affected")
        _warnings.warn(
            f"Hessian of the log-likelihood is "
            f"{'not negative definite' if covres.info_min_eig < -SINGULAR_RTOL else 'singular'} where the iterations "
            f"stopped (smallest scaled eigenvalue {covres.info_min_eig:.3g}); the fit did not converge, so this is not "
            f"a maximum; {affected}", HessianWarning)
    elif not covres.hessian_ok:
        if covres.info_min_eig < -SINGULAR_RTOL:
            kind = "not negative definite (a saddle point or not a maximum"
        else:
            kind = "singular (flat in some direction: parameters not identified"
            if covres.info_min_eig > NEAR_ZERO:  # clearly above rounding: a direction nearly flat
                kind += (f"; or nearly so, a variance inflation above {1 / SINGULAR_RTOL:.0e}, as for a covariate far "
                         "from zero beside an intercept (centre or rescale it)")
        kind += "; or a maximum at infinity, e.g. perfect separation, where the log-likelihood flattens out)"
        consequence = (f"parameters not identified there get NaN standard errors: {', '.join(names)}" if names else
                       "the chosen covariance does not involve that direction: no standard error is affected")
        _warnings.warn(
            f"Hessian of the log-likelihood is {kind} at the estimate "
            f"(smallest scaled eigenvalue {covres.info_min_eig:.3g}); {consequence}",
            HessianWarning)
    elif names:
        _warnings.warn(
            f"the chosen covariance is singular; NaN standard errors for: {', '.join(names)}",
            HessianWarning)
    return names


def _check_boundary(layout: Layout, u: np.ndarray, hess_z: np.ndarray, log_posterior: float,
                    grad_z: np.ndarray) -> tuple:
    """Warn about estimates on the boundary of their support and return their names (``hess_z``:
    the log posterior's Hessian in the free unconstrained values, (k_free, k_free); ``grad_z``: its
    gradient there, (k_free,))."""
    near = tuple(_boundary_names(layout, u, hess_z, log_posterior, grad_z))
    _warn_boundary(near)
    return near


def _warn_boundary(names: tuple) -> None:
    if names:
        _warnings.warn(
            f"estimate on the boundary of its support for {', '.join(names)}; the MLE is not interior, so "
            "Wald standard errors do not apply there and are set to NaN (use a profile likelihood)",
            BoundaryWarning)


def _boundary_names(layout: Layout, u: np.ndarray, hess_z: np.ndarray, log_posterior: float,
                    grad_z: np.ndarray) -> list:
    """Names of the free bounded parameters at their boundary (see ``BOUNDARY_U`` and
    ``BOUNDARY_STEP``; ``grad_z``: the log posterior's gradient in z); a vector support (simplex, ...)
    counts as a whole when any of its unconstrained values is."""
    curvature = -np.diagonal(np.asarray(hess_z, dtype=np.float64))
    flat_below = BOUNDARY_FLATNESS * max(abs(log_posterior), 1.0) if np.isfinite(log_posterior) else np.inf
    z_of_u = {iu: iz for iz, iu in enumerate(layout.free_u)}
    with np.errstate(divide="ignore", invalid="ignore"):  # Newton's step along each u alone
        step = np.abs(np.asarray(grad_z, dtype=np.float64) / curvature)

    def at_bound(iu):
        iz = z_of_u.get(iu)  # fixed values are not estimates
        if iz is None:
            return False
        return (abs(u[iu]) > BOUNDARY_U or step[iz] > BOUNDARY_STEP) and not curvature[iz] > flat_below

    names, start_u, start_t = [], 0, 0
    for sup, m in zip(layout.supports, layout.sizes):
        mu = sup.u_size(m)
        if sup.kind != "real":
            if sup.elementwise:
                names += [layout.names[start_t + j] for j in range(m) if at_bound(start_u + j)]
            elif any(at_bound(start_u + j) for j in range(mu)):
                names += list(layout.names[start_t : start_t + m])
        start_u += mu
        start_t += m
    return names
