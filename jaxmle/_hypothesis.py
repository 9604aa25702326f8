"""Likelihood-based hypothesis tests on fits: likelihood ratio, Wald and score (Lagrange multiplier).

All three return a :class:`TestResult` whose ``pvalue`` is the upper tail of the chi-square
distribution with ``df`` degrees of freedom, ``P(chi2_df > statistic) = Q(df/2, statistic/2)``
(the regularised upper incomplete gamma function, evaluated by JAX in float64).

=============  ================================================================================
test           statistic
=============  ================================================================================
LR             ``LR = 2 (loglik_full - loglik_restricted)``, ``df = df_model_full - df_model_restricted``
Wald           ``W = (R theta - q)^T (R V R^T)^-1 (R theta - q)``, ``V = res.cov`` (whatever
               ``cov_type`` the fit used: "robust" gives the robust Wald test), ``df = rows of R``
score (LM)     at the restricted estimate ``theta~`` (a fit with ``fixed=``), with ``s`` the score
               and ``A = -H`` the observed information of the *full* log-likelihood in every flat
               constrained parameter: ``oim``: ``LM = s^T A^-1 s``; ``opg``: ``LM = s^T B^-1 s``
               with ``B = sum_i w_i s_i s_i^T``; ``robust`` and ``cluster``: see :func:`score_test`.
=============  ================================================================================

Everything is in the flat constrained parameters ``theta`` (the order of ``res.names``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import _compile, _dtypes, _validation, _warnings
from ._pytree import leaf_labels
from ._numerics import SINGULAR_RTOL
from ._restrictions import parse_hypotheses
from ._result import MLEResult
from ._warnings import ConvergenceWarning, JaxmleWarning

SCORE_COV_TYPES = ("oim", "opg", "robust", "cluster")


# ----------------------------------------------------------------------------------------------
# The result type and the chi-square tail
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class TestResult:
    """The outcome of a chi-square test (likelihood ratio, Wald or score).

    Attributes:
      statistic: the chi-square statistic (float).
      df: its degrees of freedom (the number of restrictions).
      pvalue: ``P(chi2_df > statistic)``, the upper tail of the chi-square distribution.
      name: which test, e.g. ``"LR test"``, ``"Wald test"``, ``"Score test (robust)"``.
    """

    __test__ = False  # not a pytest test class, despite its name

    statistic: float
    df: int
    pvalue: float
    name: str

    def __repr__(self) -> str:
        stat = f"{self.statistic:.3f}" if abs(self.statistic) < 1e6 else f"{self.statistic:.4e}"
        return f"<{self.name}: chi2({self.df}) = {stat}, p = {self.pvalue:.4g}>"

    __str__ = __repr__


def chi2_sf(statistic: float, df: int) -> float:
    """Upper tail ``P(chi2_df > statistic)`` for an integer ``df >= 1`` (NaN stays NaN), in closed
    form with the standard library: with ``h = statistic / 2`` and ``m = df // 2``,

    * even df: ``exp(-h) sum_{k < m} h^k / k!``;
    * odd df: ``erfc(sqrt(h)) + exp(-h) sum_{k < m} h^(k + 1/2) / Gamma(k + 3/2)``.

    Every term is positive (no cancellation) and computed in log space (no overflow far in the
    tail). Nothing is compiled: ``jax.scipy.special.gammaincc`` compiled for 0.2 s on a process's
    first test."""
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a positive integer, got {df!r}")
    if math.isnan(statistic):
        return math.nan
    if statistic <= 0.0:
        return 1.0
    if math.isinf(statistic):
        return 0.0
    h, m, log_h = statistic / 2.0, int(df) // 2, math.log(statistic / 2.0)
    if df % 2 == 0:
        return math.fsum(math.exp(k * log_h - h - math.lgamma(k + 1.0)) for k in range(m))
    series = math.fsum(math.exp((k + 0.5) * log_h - h - math.lgamma(k + 1.5)) for k in range(m))
    return math.erfc(math.sqrt(h)) + series


# ----------------------------------------------------------------------------------------------
# Likelihood ratio
# ----------------------------------------------------------------------------------------------
def lr_test(restricted: MLEResult, full: MLEResult, *, boundary: bool = False) -> TestResult:
    """Likelihood-ratio test of a restricted fit against the full (nesting) fit.

    ``LR = 2 (full.loglik - restricted.loglik)``, chi-square with
    ``df = full.df_model - restricted.df_model`` degrees of freedom under the null that the
    restrictions hold. The models must be nested (the restricted one a special case of the full
    one, e.g. the same loglik fitted with ``fixed=``) and fitted to the same data; only the sizes
    and numbers of observations can be checked here.

    The statistic is model-based: where the likelihood is misspecified (what a
    ``cov_type="robust"`` or ``"cluster"`` fit allows for) it is not chi-square, and a warning says
    so; :func:`wald_test` on the full fit uses its robust covariance, and :func:`score_test` has
    robust and cluster forms.

    Args:
      restricted: the fit under the null hypothesis (fewer free parameters).
      full: the fit of the nesting model.
      boundary: the single restriction puts a parameter on the boundary of its support (a
        variance-type parameter at 0: the negative binomial's alpha, Poisson against NB2; a random
        effect's variance). Under the null the statistic is then the 50:50 mixture of chi2(0) and
        chi2(1) ("chibar2(01)", Self and Liang 1987), so ``pvalue = P(chi2_1 > LR) / 2`` (1 when
        ``LR = 0``): the naive chi2(1) p-value is twice too large. Needs ``df = 1``.

    Returns:
      A :class:`TestResult` named ``"LR test"`` (``"LR test (boundary, chibar2(01))"`` with ``boundary``).

    Raises:
      ValueError: for a MAP (``log_prior``) fit, different ``nobs``, ``df <= 0`` (not nested in size,
        or the arguments swapped), a restricted log-likelihood clearly above the full one, or
        ``boundary`` with more than one restriction.
    """
    for label, res in (("restricted", restricted), ("full", full)):
        _check_result(res, "lr_test", label)
        if res.is_map:
            raise ValueError(
                f"lr_test: the {label} fit is a MAP (log_prior) fit; the likelihood-ratio test needs "
                "maximum-likelihood fits (the penalised maximum is not the likelihood maximum)"
            )
    if restricted.nobs != full.nobs:
        raise ValueError(
            f"lr_test: the fits have different numbers of observations (restricted nobs={restricted.nobs}, "
            f"full nobs={full.nobs}); both models must be fitted to the same data"
        )
    if restricted.wnobs != full.wnobs:
        raise ValueError(
            f"lr_test: the fits have different frequency weights (restricted wnobs={restricted.wnobs:g}, full "
            f"wnobs={full.wnobs:g}); both models must be fitted with the same weights"
        )
    df = int(full.df_model) - int(restricted.df_model)
    if df <= 0:
        swapped = " (are the arguments swapped? the order is lr_test(restricted, full))" if df < 0 else ""
        raise ValueError(
            f"lr_test: the full model must have more free parameters than the restricted one, but "
            f"full.df_model={full.df_model} and restricted.df_model={restricted.df_model}: the models are "
            f"not nested{swapped}"
        )
    if boundary and df != 1:
        raise ValueError(
            f"lr_test: boundary=True is the chibar2(01) mixture for one restriction on a boundary, but the test has "
            f"df={df} restrictions")
    _warn_unconverged("lr_test", restricted=restricted, full=full)
    robust = sorted({res.cov_type for res in (restricted, full) if res.cov_type in ("robust", "cluster")})
    if robust:
        _warnings.warn(
            f"lr_test: the fits have cov_type={'/'.join(map(repr, robust))}, but the likelihood-ratio statistic does "
            "not use it: it is model-based, and where the likelihood is misspecified (what a robust covariance "
            "allows for) it is not chi-square. For robust inference use wald_test on the full fit (it uses its "
            "covariance) or score_test with cov_type='robust' or 'cluster'", JaxmleWarning)
    stat = 2.0 * (float(full.loglik) - float(restricted.loglik))
    if stat < 0.0:
        # Two fits of nested models at their maxima cannot have loglik_r > loglik_f; a tiny excess is
        # rounding in the two optimisations, anything else means the fits are not what they claim.
        tol = 1e-8 * max(1.0, abs(float(full.loglik)))
        if -stat > 2.0 * tol:
            raise ValueError(
                f"lr_test: the restricted log-likelihood ({restricted.loglik:.10g}) exceeds the full one "
                f"({full.loglik:.10g}); the models are not nested or the full fit is not at its maximum"
            )
        stat = 0.0
    if boundary:
        return TestResult(statistic=stat, df=df, pvalue=1.0 if stat <= 0.0 else 0.5 * chi2_sf(stat, 1),
                          name="LR test (boundary, chibar2(01))")
    return TestResult(statistic=stat, df=df, pvalue=chi2_sf(stat, df), name="LR test")


# ----------------------------------------------------------------------------------------------
# Wald
# ----------------------------------------------------------------------------------------------
def wald_test(res: MLEResult, R: Any, q: Any = None) -> TestResult:
    """Wald test of the linear hypotheses ``R theta = q`` on the flat constrained parameters.

    ``W = (R theta - q)^T (R V R^T)^-1 (R theta - q)`` with ``V = res.cov`` (so a fit with
    ``cov_type="robust"`` gives the robust Wald test, ``"cluster"`` the cluster-robust one),
    chi-square with ``df = r`` (the number of rows of R) degrees of freedom.

    Args:
      res: a fit.
      R: the hypotheses, one of
        * an array of shape ``(r, k)`` or ``(k,)`` (one hypothesis), columns in ``res.names`` order;
        * a string of comma- (or semicolon-) separated linear equations in the parameter names,
          e.g. ``"beta[1] = beta[2]"``, ``"beta[1] = 0, beta[2] = 0"``, ``"2*beta[1] - beta[2] = 1"``
          (``+ - * /``, parentheses and numbers; an equation without ``=`` means ``= 0``), or a
          list of such strings;
        * a dict ``{name or linear expression: value}``, e.g. ``{"beta[1]": 0, "sigma": 1}``.
      q: the right-hand sides, shape ``(r,)`` or a scalar (default 0); only with an array ``R``.

    Returns:
      A :class:`TestResult` named ``"Wald test"``.

    Warns:
      JaxmleWarning: for a MAP (``log_prior``) fit, whose estimates are shrunk towards the prior
        and whose ``V`` is the Laplace (posterior) covariance: the statistic then describes the
        posterior, not a frequentist test with its nominal size (``lr_test`` and ``score_test``
        refuse MAP fits).

    Raises:
      ValueError: a wrong shape of R or q, an unknown parameter name, a hypothesis on a fixed
        parameter, NaN in the covariance of the parameters involved (unidentified, on a boundary,
        or ``cov_type="none"``), or a singular ``R V R^T`` (redundant hypotheses).
    """
    _check_result(res, "wald_test", "res")
    if res.is_map:
        _warnings.warn(
            "wald_test on a MAP (log_prior) fit: the estimates are shrunk towards the prior and the covariance is the "
            "Laplace (posterior) one, so the statistic describes the posterior, not a Wald test with its nominal size "
            "(fit without log_prior for that)", _warnings.JaxmleWarning)
    names = tuple(res.names)
    k = len(names)
    if isinstance(R, str) or isinstance(R, dict) or (
        isinstance(R, (list, tuple)) and len(R) > 0 and all(isinstance(x, str) for x in R)
    ):
        if q is not None:
            raise ValueError("wald_test: q is only used with a matrix R; write the right-hand sides in the hypotheses")
        R_mat, q_vec = parse_hypotheses(R, names)
    else:
        R_mat, q_vec = _check_matrix_form(R, q, k, names)
    r = R_mat.shape[0]

    theta = np.asarray(res._flat, dtype=np.float64)
    cov = np.asarray(res.cov, dtype=np.float64)
    used = np.any(R_mat != 0.0, axis=0)
    fixed = np.asarray(res.fixed, dtype=bool) & used
    if fixed.any():
        raise ValueError(
            f"wald_test: the hypotheses involve fixed parameter(s) {_join(names, fixed)}, which were held at "
            "their start values and have no sampling variance; test them with lr_test or score_test"
        )
    idx = np.nonzero(used)[0]
    block = cov[np.ix_(idx, idx)]
    if not np.all(np.isfinite(block)):
        bad = np.zeros(k, bool)
        bad[idx[~np.all(np.isfinite(block), axis=1)]] = True
        why = " (the fit has cov_type='none')" if res.cov_type == "none" else " (unidentified or on a boundary)"
        raise ValueError(
            f"wald_test: the covariance of {_join(names, bad)} is NaN{why}; no Wald test is possible for "
            "hypotheses involving them"
        )
    Rs = R_mat[:, idx]
    middle = Rs @ block @ Rs.T
    diff = Rs @ theta[idx] - q_vec
    stat = _quadratic_form(
        middle, diff, what="wald_test: R cov R^T",
        hint="the hypotheses are linearly dependent (redundant rows in R) or the covariance is singular in their "
             "direction",
    )
    return TestResult(statistic=stat, df=r, pvalue=chi2_sf(stat, r), name="Wald test")


def _check_matrix_form(R, q, k, names):
    try:
        R_mat = np.array(R, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"wald_test: R must be a (r, k) array, a string or a dict; got {type(R).__name__} ({err})") from None
    if R_mat.ndim == 1:
        R_mat = R_mat[None, :]
    if R_mat.ndim != 2 or R_mat.shape[1] != k or R_mat.shape[0] == 0:
        raise ValueError(
            f"wald_test: R has shape {np.shape(R)}, expected (r, {k}) or ({k},): one column per parameter "
            f"({', '.join(names)})"
        )
    if not np.all(np.isfinite(R_mat)):
        raise ValueError("wald_test: R contains NaN or inf")
    r = R_mat.shape[0]
    if q is None:
        q_vec = np.zeros(r)
    else:
        q_vec = np.asarray(q, dtype=np.float64)
        if q_vec.ndim == 0:
            q_vec = np.full(r, float(q_vec))
        q_vec = q_vec.reshape(-1) if q_vec.ndim == 2 and 1 in q_vec.shape else q_vec
        if q_vec.shape != (r,):
            raise ValueError(f"wald_test: q has shape {np.shape(q)}, expected ({r},) (one value per row of R {R_mat.shape}) or a scalar")
        if not np.all(np.isfinite(q_vec)):
            raise ValueError("wald_test: q contains NaN or inf")
    if not np.any(R_mat != 0.0, axis=1).all():
        rows = np.nonzero(~np.any(R_mat != 0.0, axis=1))[0].tolist()
        raise ValueError(f"wald_test: row(s) {rows} of R are all zero (a hypothesis that involves no parameter)")
    return R_mat, q_vec


# ----------------------------------------------------------------------------------------------
# Score (Lagrange multiplier)
# ----------------------------------------------------------------------------------------------
def score_test(
    loglik: Callable,
    restricted: MLEResult,
    data: Any = None,
    *,
    cov_type: str | None = None,
    weights: Any = None,
    cluster: Any = None,
    cluster_correction: bool = True,
) -> TestResult:
    """Score (Lagrange multiplier) test of the parameters held fixed in a restricted fit.

    ``restricted`` is ``loglik`` fitted with ``fixed=`` (the null hypothesis: the fixed
    parameters equal their start values); the full model frees them. Only the restricted fit is
    needed. At its estimate ``theta~`` (flat constrained parameters, ``names`` order) let
    ``s = d/d theta sum_i w_i loglik_i`` (the full score), ``A = -H`` (minus the full Hessian),
    ``s_i`` the per-observation scores and ``B = sum_i w_i s_i s_i^T``. Split the parameters into
    the tested (fixed) block ``b`` (``r`` of them) and the estimated block ``a``.

    * ``cov_type="oim"``: ``LM = s^T A^-1 s`` (Rao's score test with the observed information;
      since ``s_a = 0`` at the restricted maximum it equals ``s_b^T (A^-1)_bb s_b``).
    * ``cov_type="opg"``: ``LM = s^T B^-1 s`` (the outer-product / BHHH form).
    * ``cov_type="robust"``: the robust score test (White 1982; Boos 1992), valid when the
      information-matrix equality fails (misspecification, overdispersion). The effective score of
      the tested block after projecting out the nuisance block is ``s~ = s_b - A_ba A_aa^-1 s_a``
      (``= s_b`` at the restricted maximum), i.e. ``s~ = sum_i w_i C s_i`` with
      ``C = [-A_ba A_aa^-1, I_r]`` (``r x k``); its covariance is estimated by ``V = C B C^T`` and
      ``LM = s~^T V^-1 s~``. Equivalently ``LM = s^T A^-1 R^T (R A^-1 B A^-1 R^T)^-1 R A^-1 s``
      with ``R`` selecting the tested block (statsmodels' ``_lm_robust``), i.e. ``(A^-1 s)_b``
      weighted by the inverse of the tested block of the sandwich ``A^-1 B A^-1``. ``B`` is the
      uncentred sum of outer products, as the "robust" (HC0) covariance of :func:`maximize`
      (statsmodels' HC0 score test centres the scores and applies ``n/(n-1)``; the two agree to
      ``O(1/n)`` under the null).
    * ``cov_type="cluster"``: the same with ``B = G/(G-1) sum_g S_g S_g^T``, ``S_g`` the weighted
      score sum of cluster g (the meat of :func:`maximize`'s cluster-robust covariance, with its
      ``G/(G-1)`` unless ``cluster_correction=False``): valid under within-cluster correlation.

    ``df = r``, the number of fixed parameters. Derivatives are exact (JAX, float64).

    Args:
      loglik: the log-likelihood the restricted fit used, ``loglik(params, data)``, per-observation
        contributions (n,) (a scalar total is accepted for ``cov_type="oim"`` without weights).
      restricted: the fit with ``fixed=`` (not a MAP fit).
      data: the data of that fit (a pytree of arrays; a pandas DataFrame becomes a dict).
      cov_type: "oim", "opg", "robust" or "cluster"; by default the restricted fit's own
        (``"oim"`` where that is "expected" or "none"), so a robust fit gets the robust test.
      weights: the frequency weights of that fit, shape (n,), if any.
      cluster: the cluster labels (n,) of that fit, for ``cov_type="cluster"``.
      cluster_correction: apply the ``G/(G-1)`` factor to the cluster meat (as :func:`maximize`).

    Returns:
      A :class:`TestResult` named ``"Score test"`` (with ``" (opg)"``/``" (robust)"``/``" (cluster)"``
      appended for those variants).

    Raises:
      ValueError: nothing fixed in ``restricted``, a MAP fit, a simplex parameter, data or
        weights of the wrong length, an unknown ``cov_type``, a scalar loglik with opg/robust/cluster
        or weights, ``cov_type="cluster"`` without ``cluster`` labels (or labels without it), or a
        singular information matrix.
    """
    _check_result(restricted, "score_test", "restricted")
    if not callable(loglik):
        raise TypeError(f"score_test: loglik must be a function loglik(params, data), got {type(loglik).__name__}")
    if cov_type is None:
        cov_type = restricted.cov_type if restricted.cov_type in SCORE_COV_TYPES else "oim"
        if cov_type == "cluster" and cluster is None:
            raise ValueError(
                "score_test: the restricted fit has a cluster-robust covariance, so the score test is the cluster one "
                "by default: pass the fit's cluster= labels (or choose cov_type='oim', 'opg' or 'robust')")
    if cov_type not in SCORE_COV_TYPES:
        raise ValueError(f"score_test: unknown cov_type {cov_type!r}; expected one of {', '.join(SCORE_COV_TYPES)}")
    _validation.check_cluster_choice(cov_type, cluster, "score_test: ")
    if restricted.is_map:
        raise ValueError("score_test: the restricted fit is a MAP (log_prior) fit; the score test needs a maximum-likelihood fit")
    tested = np.asarray(restricted.fixed, dtype=bool)
    if not tested.any():
        raise ValueError(
            "score_test: nothing is fixed in the restricted fit; fit the null model with fixed= "
            "(e.g. fixed={'beta': [False, True, False]} holds beta[1] at its start value)"
        )
    layout = restricted._layout
    simplex = [lab for lab, sup in zip(_leaf_names(restricted), layout.supports) if sup.kind == "simplex"]
    if simplex:
        raise ValueError(
            f"score_test: simplex parameter(s) {', '.join(simplex)} have no unrestricted flat parametrisation "
            "(their elements sum to 1); the score test in the constrained parameters does not apply"
        )
    data = _validation.normalize_data(data)
    n = _validation.check_data(data)
    if n != restricted.nobs and restricted.nobs is not None:
        if n is None:
            raise ValueError(f"score_test: data is None but the restricted fit had nobs={restricted.nobs}; pass its data")
        raise ValueError(
            f"score_test: data has {n} observations but the restricted fit had nobs={restricted.nobs}; "
            "pass the data the model was fitted to"
        )
    w_np = _validation.check_weights_of_fit(weights, n, restricted, "score_test")
    codes, n_groups = _validation.check_cluster(cluster, n) if cluster is not None else (None, 0)
    g_eff = 0 if codes is None else _validation.clusters_with_weight(codes, n_groups, w_np)
    _warn_unconverged("score_test", restricted=restricted)

    with _dtypes.precision_scope(np.float64):
        data64 = _dtypes.cast_data(data, np.float64)
        theta = jnp.asarray(restricted._flat, dtype=jnp.float64)
        try:
            shape = jax.eval_shape(lambda th: loglik(layout.unflatten(th), data64), theta).shape
        except Exception as err:  # noqa: BLE001 - re-raised naming the callable (e.g. another model's params)
            raise _validation.named_error(err, "score_test: loglik(restricted.params, data)") from err
        scalar = shape == ()
        if not scalar and (len(shape) != 1 or (n is not None and shape[0] != n)):
            raise ValueError(f"score_test: loglik returned shape {shape}; expected per-observation contributions ({n},) or a scalar")
        if scalar and (cov_type != "oim" or w_np is not None):
            needs = f"cov_type={cov_type!r}" if cov_type != "oim" else "weights"
            raise ValueError(
                f"score_test: {needs} needs per-observation contributions, but loglik returns a scalar: "
                "return the (n,) vector of contributions instead of their sum"
            )
        m = 1 if scalar else shape[0]
        w = np.ones((m,), np.float64) if w_np is None else np.asarray(w_np, np.float64)  # (no eager device op)
        s, hess, scores = _derivatives(theta, data64, w, loglik=loglik, layout=layout, scalar=scalar,
                                       scores=cov_type != "oim")
        s = np.asarray(s, dtype=np.float64)
        info = -np.asarray(hess, dtype=np.float64)
        meat = None if scores is None else _meat(np.asarray(scores, dtype=np.float64), np.asarray(w, np.float64),
                                                 codes, n_groups, cluster_correction, g_eff)

    names = tuple(restricted.names)
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(info)) and (meat is None or np.all(np.isfinite(meat)))):
        raise ValueError("score_test: the score or Hessian of loglik is not finite at the restricted estimate")
    r = int(tested.sum())
    if cov_type == "oim":
        stat = _quadratic_form(info, s, what="score_test: the observed information -H of the full model",
                               hint="some parameter is not identified at the restricted estimate", names=names)
        label = "Score test"
    elif cov_type == "opg":
        stat = _quadratic_form(meat, s, what="score_test: the outer product of scores B",
                               hint="some parameter is not identified at the restricted estimate", names=names)
        label = "Score test (opg)"
    else:
        a, b = ~tested, tested
        a_aa, a_ba = info[np.ix_(a, a)], info[np.ix_(b, a)]
        proj = _solve_pd(a_aa, a_ba.T, what="score_test: the information of the estimated parameters",
                         names=tuple(nm for nm, f in zip(names, a) if f)).T  # A_ba A_aa^-1, (r, k - r)
        C = np.zeros((r, len(names)))
        C[:, a] = -proj
        C[:, b] = np.eye(r)
        s_eff = C @ s
        V = C @ meat @ C.T
        stat = _quadratic_form(V, s_eff, what=f"score_test: the {cov_type} covariance of the tested score C B C^T",
                               hint="the tested scores are collinear or identically zero")
        label = f"Score test ({cov_type})"
    return TestResult(statistic=stat, df=r, pvalue=chi2_sf(stat, r), name=label)


@functools.partial(_compile.jit, static_argnames=("loglik", "layout", "scalar", "scores"))
def _derivatives(theta, data, w, *, loglik, layout, scalar: bool, scores: bool):
    """(score (k,), Hessian (k, k), per-observation scores (n, k) or None) of the weighted total in theta."""

    def contributions(th):
        return jnp.asarray(loglik(layout.unflatten(th), data))

    def total(th):
        c = contributions(th)
        return c if scalar else jnp.sum(w * c)

    s = jax.grad(total)(theta)
    h = jax.hessian(total)(theta)
    return s, 0.5 * (h + h.T), jax.jacfwd(contributions)(theta) if scores else None


def _meat(scores: np.ndarray, w: np.ndarray, codes, n_groups: int, correction: bool, g_eff: int = 0) -> np.ndarray:
    """``B = sum_i w_i s_i s_i^T`` from the per-observation scores (n, k), or with cluster ``codes``
    (0..n_groups-1) ``G/(G-1) sum_g S_g S_g^T`` (``S_g = sum_{i in g} w_i s_i``; G = ``g_eff`` the
    clusters with positive weight; the factor only with ``correction``)."""
    if codes is None:
        return scores.T @ (w[:, None] * scores)
    sums = np.zeros((n_groups, scores.shape[1]))
    np.add.at(sums, codes, w[:, None] * scores)
    return sums.T @ sums * (g_eff / (g_eff - 1.0) if correction else 1.0)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _check_result(res, fn: str, label: str) -> None:
    if not isinstance(res, MLEResult):
        raise TypeError(f"{fn}: {label} must be an MLEResult (from jaxmle.maximize), got {type(res).__name__}")


def _warn_unconverged(fn: str, **fits) -> None:
    bad = [label for label, res in fits.items() if not res.converged]
    if bad:
        _warnings.warn(
            f"{fn}: the {' and '.join(bad)} fit did not converge; the test statistic assumes maximised likelihoods",
            ConvergenceWarning)


def _join(names, mask) -> str:
    return ", ".join(n for n, b in zip(names, mask) if b)


def _leaf_names(res) -> list:
    return leaf_labels(res.params)


def _scaled_eigh(m: np.ndarray):
    """Eigen-decomposition of the unit-diagonal scaling of a symmetric matrix ``m`` (None if a diagonal <= 0)."""
    m = 0.5 * (m + m.T)
    d = np.diag(m)
    if not np.all(d > 0):
        return None, d
    sc = 1.0 / np.sqrt(d)
    lam, vec = np.linalg.eigh(m * sc[:, None] * sc[None, :])
    return (lam, vec, sc), d


def _solve_pd(m: np.ndarray, rhs: np.ndarray, *, what: str, names: tuple = ()) -> np.ndarray:
    """``m^-1 rhs`` for a symmetric positive definite ``m``; ValueError when it is singular or indefinite."""
    eig, d = _scaled_eigh(m)
    if eig is None or eig[0][0] <= SINGULAR_RTOL:
        if eig is None:
            detail = "it has a zero or negative diagonal" + (
                f" (for {_join(names, ~(d > 0))})" if names else "")
        else:
            detail = f"smallest scaled eigenvalue {eig[0][0]:.3g}"
        raise ValueError(f"{what} is singular or not positive definite ({detail})")
    lam, vec, sc = eig
    return sc[:, None] * (vec @ ((vec.T @ (sc[:, None] * rhs)) / lam[:, None]))


def _quadratic_form(m: np.ndarray, v: np.ndarray, *, what: str, hint: str = "", names: tuple = ()) -> float:
    """``v^T m^-1 v`` for symmetric positive definite ``m``; ValueError naming ``what`` otherwise."""
    try:
        x = _solve_pd(m, v[:, None], what=what, names=names)[:, 0]
    except ValueError as err:
        raise ValueError(f"{err}{': ' + hint if hint else ''}") from None
    return float(v @ x)


__all__ = ["TestResult", "lr_test", "wald_test", "score_test"]
