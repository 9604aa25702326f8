"""Reference tests of the ready-made models (``jaxmle.models``) against statsmodels, scipy and closed forms.

Every model is fitted once per module (module-scoped fixtures) with ``jaxmle.models.fit`` (Newton
from the model's own start values) and compared one quantity per test. The model functions live
at module level in ``jaxmle.models``, so compiled solvers are shared by every test (and test file)
fitting the same model on data of the same shapes.

Targets: estimates ``rtol=1e-6`` (with ``atol=1e-10`` against coefficients near zero), standard
errors ``rtol=1e-5`` where both sides use the same covariance definition (statsmodels' discrete
models: the inverse analytic Hessian = jaxmle's ``"oim"``), log-likelihoods ``rtol=1e-10`` (second
order in the estimation error). Looser tolerances carry a comment saying why. The references are
run with tight tolerances (statsmodels Newton with ``tol=1e-12``; scipy's Nelder-Mead with
``xtol=1e-10, ftol=1e-12``, measured accurate to ~1e-8; root finding to machine precision).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from numpy.testing import assert_allclose

from jaxmle import models

sm = pytest.importorskip("statsmodels.api")
numdiff = pytest.importorskip("statsmodels.tools.numdiff")
scipy_stats = pytest.importorskip("scipy.stats")
scipy_optimize = pytest.importorskip("scipy.optimize")
scipy_special = pytest.importorskip("scipy.special")

# ----------------------------------------------------------------------------------------------
# Simulated data (NumPy, independent of the models' own simulators): one design X shared by all
# regressions, so that shapes (hence compiled code) are shared.
# ----------------------------------------------------------------------------------------------
N = 400
RNG = np.random.default_rng(20240613)
X = np.column_stack([np.ones(N), RNG.normal(size=N), RNG.uniform(-1.0, 1.0, size=N)])
ONES = np.ones((N, 1))  # intercept-only design for the comparisons with scipy's iid fits
BETA = np.array([0.5, 0.6, -0.8])

Y_GAUSS = X @ np.array([1.0, 2.0, -1.5]) + 1.3 * RNG.normal(size=N)
Y_LAD = X @ np.array([1.0, 2.0, -1.5]) + RNG.laplace(scale=0.8, size=N)
Y_LOGIT = (RNG.uniform(size=N) < 1.0 / (1.0 + np.exp(-(X @ np.array([-0.4, 0.9, -0.7]))))).astype(float)
Y_PROBIT = (X @ np.array([0.3, -0.6, 0.8]) + RNG.normal(size=N) > 0).astype(float)
_MN_ETA = np.column_stack([np.zeros(N), X @ np.array([[0.2, -0.3], [0.8, -0.5], [0.4, 0.6]])])
_MN_P = np.exp(_MN_ETA) / np.exp(_MN_ETA).sum(axis=1, keepdims=True)
Y_MN = (RNG.uniform(size=(N, 1)) > np.cumsum(_MN_P, axis=1)).sum(axis=1).astype(np.int32)  # codes 0, 1, 2
Y_POIS = RNG.poisson(np.exp(X @ np.array([0.6, 0.4, -0.5]))).astype(float)
_ALPHA = 0.6
_MU_NB = np.exp(X @ np.array([0.8, 0.5, -0.4]))
Y_NB = RNG.negative_binomial(1.0 / _ALPHA, 1.0 / (1.0 + _ALPHA * _MU_NB)).astype(float)
_SHAPE = 2.5
Y_GAMMA = RNG.gamma(_SHAPE, np.exp(X @ BETA) / _SHAPE)
# Survival: exponential regression times, censored at independent uniform times (~25% censored).
_T_EXP = np.exp(X @ np.array([0.5, 0.3, -0.6])) * RNG.exponential(size=N)
_C_EXP = RNG.uniform(0.5, 6.0, size=N)
Y_EXP, CENS_EXP = np.minimum(_T_EXP, _C_EXP), (_T_EXP > _C_EXP).astype(float)
# Intercept-only survival data for the closed form (exponential) and scipy (Weibull).
_T_W = scipy_stats.weibull_min.rvs(1.7, scale=2.5, size=N, random_state=RNG)
_C_W = RNG.uniform(1.0, 6.0, size=N)
Y_W, CENS_W = np.minimum(_T_W, _C_W), (_T_W > _C_W).astype(float)
Y_T = 1.0 + 2.0 * scipy_stats.t.rvs(5.0, size=N, random_state=RNG)
# Two well-separated regression components (weights 0.4 / 0.6).
_FIRST = RNG.uniform(size=N) < 0.4
Y_MIX = np.where(_FIRST, X @ np.array([-1.0, 0.5, 0.0]) + 0.7 * RNG.normal(size=N),
                 X @ np.array([2.0, -0.5, 0.0]) + 1.0 * RNG.normal(size=N))

SM_FIT = {"method": "newton", "maxiter": 100, "tol": 1e-12, "disp": 0}


def _data(y, x=X, **extra):
    return {"X": x, "y": y, **extra}


def _flat(tree):
    """Flat values in ``res.names`` order (leaves of the params pytree, raveled)."""
    return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in jax.tree_util.tree_leaves(tree)])


def _tight_fmin(func, x0, args=(), disp=0):
    """Nelder-Mead far below scipy's default tolerances, for ``rv_continuous.fit(optimizer=...)``."""
    return scipy_optimize.fmin(func, x0, args=args, xtol=1e-10, ftol=1e-12, maxiter=40000, maxfun=80000, disp=disp)


def _numerical_cov(loglik_sum, theta):
    """Inverse negative numerical Hessian (statsmodels ``approx_hess3``, central differences).

    Its rounding error is ~ eps |loglik| / h^2 with h ~ eps^(1/4): about 1e-6 relative for these
    log-likelihoods of ~1e3, so standard errors against it are compared at ``rtol=1e-4``."""
    return np.linalg.inv(-numdiff.approx_hess3(np.asarray(theta, dtype=np.float64), loglik_sum))


# ----------------------------------------------------------------------------------------------
# 1. statsmodels discrete models: Logit, Probit, MNLogit, Poisson, NegativeBinomial (nb2)
# ----------------------------------------------------------------------------------------------
DISCRETE = {
    "logit": (models.logit, Y_LOGIT, lambda: sm.Logit(Y_LOGIT, X)),
    "probit": (models.probit, Y_PROBIT, lambda: sm.Probit(Y_PROBIT, X)),
    "mnlogit": (models.mnlogit, Y_MN, lambda: sm.MNLogit(Y_MN, X)),
    "poisson": (models.poisson, Y_POIS, lambda: sm.Poisson(Y_POIS, X)),
    # statsmodels orders NB2 params as [beta..., alpha]; Newton steps in alpha itself.
    "nb2": (models.negative_binomial, Y_NB, lambda: sm.NegativeBinomial(Y_NB, X, loglike_method="nb2")),
}


def _sm_order(tree):
    """jaxmle values (params or stderr) in statsmodels' layout: beta ((p,) or MNLogit's (p, K-1)),
    then alpha for NB2 (jaxmle's names sort alpha first)."""
    beta = np.asarray(tree["beta"])
    return np.append(beta, float(np.asarray(tree["alpha"]))) if "alpha" in tree else beta


@pytest.fixture(scope="module", params=list(DISCRETE))
def discrete(request):
    factory, y, sm_model = DISCRETE[request.param]
    return models.fit(factory(), _data(y)), sm_model().fit(**SM_FIT)


def test_discrete_converged(discrete):
    res, ref = discrete
    assert res.converged, res.status
    assert ref.mle_retvals["converged"]


def test_discrete_params(discrete):
    res, ref = discrete
    assert_allclose(_sm_order(res.params), np.asarray(ref.params), rtol=1e-6, atol=1e-10)


def test_discrete_stderr(discrete):
    res, ref = discrete
    assert_allclose(_sm_order(res.stderr), np.asarray(ref.bse), rtol=1e-5)


def test_discrete_loglik(discrete):
    res, ref = discrete
    assert_allclose(res.loglik, ref.llf, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# 2. Gaussian linear regression vs OLS
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gaussian():
    return models.fit(models.gaussian(), _data(Y_GAUSS)), sm.OLS(Y_GAUSS, X).fit()


def test_gaussian_beta_is_ols(gaussian):
    res, ref = gaussian
    assert_allclose(res.params["beta"], ref.params, rtol=1e-6, atol=1e-10)


def test_gaussian_sigma2_is_ssr_over_n(gaussian):
    res, ref = gaussian
    assert_allclose(res.params["sigma"] ** 2, ref.ssr / N, rtol=1e-6)


def test_gaussian_stderr_is_ols_bse_with_mle_variance(gaussian):
    # oim: cov(beta) = sigma_mle^2 (X'X)^-1 with sigma_mle^2 = ssr/n; OLS bse uses ssr/(n-p).
    res, ref = gaussian
    assert_allclose(res.stderr["beta"], ref.bse * np.sqrt((N - 3) / N), rtol=1e-5)


def test_gaussian_loglik_is_ols_llf(gaussian):
    res, ref = gaussian
    assert_allclose(res.loglik, ref.llf, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# 3. Laplace (LAD) vs QuantReg(q=0.5) and the exact LAD optimum by linear programming
# ----------------------------------------------------------------------------------------------
def _lad_by_linprog(x, y):
    """Exact LAD: min 1'(u + v) s.t. X beta + u - v = y, u, v >= 0 (HiGHS simplex/IPM)."""
    n, p = x.shape
    cost = np.concatenate([np.zeros(p), np.ones(2 * n)])
    a_eq = np.hstack([x, np.eye(n), -np.eye(n)])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    out = scipy_optimize.linprog(cost, A_eq=a_eq, b_eq=y, bounds=bounds, method="highs")
    assert out.status == 0
    return out.x[:p], out.fun


@pytest.fixture(scope="module")
def laplace():
    res = models.fit(models.laplace(), _data(Y_LAD))
    qr = sm.QuantReg(Y_LAD, X).fit(q=0.5, p_tol=1e-10, max_iter=10000)
    return res, qr, _lad_by_linprog(X, Y_LAD)


def test_laplace_converged_with_expected_cov(laplace):
    res = laplace[0]
    assert res.converged and res.cov_type == "expected", (res.status, res.cov_type)


def test_laplace_beta_vs_quantreg(laplace):
    # Loose: the LAD objective is non-smooth. QuantReg solves it by IRLS (stopping on p_tol) and
    # jaxmle's model by Newton on |r| smoothed at 1e-6 b; each is only near the exact vertex
    # solution (measured: 3e-8 apart; HiGHS' LP vertex, with its 1e-7 feasibility tolerance, is
    # 4e-7 from both), so 1e-5 absolute on coefficients of size ~1.
    res, qr, _ = laplace
    assert_allclose(res.params["beta"], qr.params, atol=1e-5)


def test_laplace_objective_vs_exact_lad(laplace):
    # The objective value is what a non-smooth problem pins down best: sum |r| at jaxmle's beta
    # equals the LP optimum to 1.5e-9 relative (measured; the LP's own tolerance dominates).
    res, _, (_, lad_min) = laplace
    assert_allclose(np.sum(np.abs(Y_LAD - X @ res.params["beta"])), lad_min, rtol=1e-8)
    # and the reported log-likelihood is the exact Laplace one at the estimates, to about p h + sum
    # h^2 b / 2|r| (smoothing h = 1e-6; the former |r| - h form was n h = 4e-4 too high)
    exact = scipy_stats.laplace.logpdf(Y_LAD, X @ res.params["beta"], res.params["b"]).sum()
    assert -1e-5 < res.loglik - exact <= 0


def test_laplace_scale_is_mean_absolute_residual(laplace):
    res, _, (_, lad_min) = laplace
    assert_allclose(res.params["b"], lad_min / N, rtol=1e-6)


def test_laplace_expected_stderr_closed_form(laplace):
    # cov(beta) = b^2 (X'X)^-1: the LAD asymptotic variance (X'X)^-1 / (4 f(0)^2), f(0) = 1/(2b).
    res = laplace[0]
    ref = res.params["b"] * np.sqrt(np.diag(np.linalg.inv(X.T @ X)))
    assert_allclose(res.stderr["beta"], ref, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# 4. Gamma (log link) vs statsmodels GLM
#
# GLM Gamma: Var(y) = phi mu^2 (phi = statsmodels' ``scale``); the model's Gamma(shape k,
# scale mu/k) has Var(y) = k (mu/k)^2 = mu^2 / k, so phi = 1/k. The beta score,
# k sum_i (y_i/mu_i - 1) x_i, does not involve k: the GLM's IRLS beta is the MLE. statsmodels
# estimates phi by Pearson's chi^2/(n-p), not by ML, so k-hat is checked against the root of its
# own score equation n (log k + 1 - digamma(k)) + sum_i (log(y_i/mu_i) - y_i/mu_i) = 0 instead.
# With phi = 1/k-hat, GLM's bse = sqrt(phi diag((X'X)^-1)) is the inverse expected information
# (k X'X)^-1 of the model.
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gamma():
    res = models.fit(models.gamma(), _data(Y_GAMMA))
    glm = sm.GLM(Y_GAMMA, X, family=sm.families.Gamma(link=sm.families.links.Log())).fit(tol=1e-13, maxiter=200)
    mu = glm.fittedvalues
    c = np.sum(np.log(Y_GAMMA / mu) - Y_GAMMA / mu)

    def score(k):
        return N * (np.log(k) + 1.0 - scipy_special.digamma(k)) + c

    k_hat = scipy_optimize.brentq(score, 1e-3, 1e3, xtol=1e-14, rtol=4 * np.finfo(float).eps)
    glm_at_k = sm.GLM(Y_GAMMA, X, family=sm.families.Gamma(link=sm.families.links.Log())).fit(
        tol=1e-13, maxiter=200, scale=1.0 / k_hat)
    return res, glm, k_hat, glm_at_k


def test_gamma_beta_vs_glm(gamma):
    res, glm, _, _ = gamma
    assert_allclose(res.params["beta"], glm.params, rtol=1e-6, atol=1e-10)


def test_gamma_shape_vs_score_root(gamma):
    res, _, k_hat, _ = gamma
    assert_allclose(res.params["shape"], k_hat, rtol=1e-6)


def test_gamma_expected_stderr_vs_glm_bse_at_mle_scale(gamma):
    res, _, _, glm_at_k = gamma
    with jax.enable_x64(True):  # outside maximize, JAX computes in float32 unless told otherwise
        info = np.asarray(models.gamma().expected_info(res.params, _data(Y_GAMMA)))
    cov = np.linalg.inv(info)
    names = list(res.names)
    idx = [names.index(f"beta[{j}]") for j in range(3)]
    assert_allclose(np.sqrt(np.diag(cov)[idx]), glm_at_k.bse, rtol=1e-5)


def test_gamma_loglik_vs_glm_llf_at_mle_scale(gamma):
    # statsmodels' Gamma log-likelihood is the full density with shape 1/scale.
    res, _, _, glm_at_k = gamma
    assert_allclose(res.loglik, glm_at_k.llf, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# 5. Exponential survival with right censoring
#
# Regression: with d_i = 1 - censored_i the censored log-likelihood sum_i [-d_i eta_i - y_i e^-eta_i]
# is, up to a constant, the Poisson log-likelihood of d_i with mean y_i exp(-eta_i): statsmodels
# Poisson(d, X, offset=log y) estimates -beta with the same Hessian. Intercept only: the closed form
# rate = events / total time, i.e. beta_0 = log(total time / events), se(beta_0) = 1/sqrt(events).
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exponential():
    res = models.fit(models.exponential(), _data(Y_EXP, censored=CENS_EXP))
    ref = sm.Poisson(1.0 - CENS_EXP, X, offset=np.log(Y_EXP)).fit(**SM_FIT)
    return res, ref


def test_exponential_beta_vs_poisson_offset(exponential):
    res, ref = exponential
    assert_allclose(res.params["beta"], -ref.params, rtol=1e-6, atol=1e-10)


def test_exponential_stderr_vs_poisson_offset(exponential):
    res, ref = exponential
    assert_allclose(res.stderr["beta"], ref.bse, rtol=1e-5)


@pytest.fixture(scope="module")
def exponential_iid():
    return models.fit(models.exponential(), _data(Y_W, ONES, censored=CENS_W))


def test_exponential_rate_is_events_over_total_time(exponential_iid):
    events = np.sum(CENS_W == 0)
    assert_allclose(np.exp(-exponential_iid.params["beta"][0]), events / Y_W.sum(), rtol=1e-6)


def test_exponential_stderr_closed_form(exponential_iid):
    # Observed information of beta_0 = log mean: y' e^-beta_0 = events at the MLE.
    assert_allclose(exponential_iid.stderr["beta"][0], 1.0 / np.sqrt(np.sum(CENS_W == 0)), rtol=1e-5)


def test_exponential_uncensored_vs_scipy_expon_fit():
    res = models.fit(models.exponential(), _data(Y_W, ONES, censored=np.zeros(N)))
    _, scale = scipy_stats.expon.fit(Y_W, floc=0)  # closed form: the mean
    assert_allclose(np.exp(res.params["beta"][0]), scale, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# 6. Weibull with right censoring vs scipy (CensoredData) and the profile score equation
# ----------------------------------------------------------------------------------------------
def _weibull_censored_loglik(theta):
    """scipy: logpdf for events, logsf for censored times; theta = (c, scale)."""
    c, scale = theta
    ev = CENS_W == 0
    return (np.sum(scipy_stats.weibull_min.logpdf(Y_W[ev], c, 0.0, scale))
            + np.sum(scipy_stats.weibull_min.logsf(Y_W[~ev], c, 0.0, scale)))


@pytest.fixture(scope="module")
def weibull():
    res = models.fit(models.weibull(), _data(Y_W, ONES, censored=CENS_W))
    censored = scipy_stats.CensoredData.right_censored(Y_W, CENS_W.astype(bool))
    c, loc, scale = scipy_stats.weibull_min.fit(censored, floc=0, optimizer=_tight_fmin)
    assert loc == 0.0
    # Profile score in k (scale profiled out: scale^k = sum y^k / d) solved to machine precision.
    ev, d = CENS_W == 0, np.sum(CENS_W == 0)

    def score(k):
        yk = Y_W**k
        return d / k + np.sum(np.log(Y_W[ev])) - d * np.sum(yk * np.log(Y_W)) / np.sum(yk)

    k_root = scipy_optimize.brentq(score, 0.05, 20.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    scale_root = (np.sum(Y_W**k_root) / d) ** (1.0 / k_root)
    return res, np.array([c, scale]), np.array([k_root, scale_root])


def _weibull_c_scale(res):
    return np.array([float(res.params["shape"]), float(np.exp(res.params["beta"][0]))])


def test_weibull_converged(weibull):
    assert weibull[0].converged, weibull[0].status


def test_weibull_vs_scipy_censored_fit(weibull):
    # scipy's Nelder-Mead (tightened) is the looser side here: accurate to ~2e-9 (measured).
    res, scipy_fit, _ = weibull
    assert_allclose(_weibull_c_scale(res), scipy_fit, rtol=1e-6)


def test_weibull_vs_profile_score_root(weibull):
    res, _, root = weibull
    assert_allclose(_weibull_c_scale(res), root, rtol=1e-6)


def test_weibull_loglik_vs_scipy(weibull):
    res = weibull[0]
    assert_allclose(res.loglik, _weibull_censored_loglik(_weibull_c_scale(res)), rtol=1e-10)


def test_weibull_stderr_vs_numerical_hessian(weibull):
    # (shape, log scale) covariance vs the numerical Hessian of scipy's censored log-likelihood in
    # (c, log scale); rtol 1e-4 for the numerical differentiation (see _numerical_cov).
    res = weibull[0]
    c, scale = _weibull_c_scale(res)
    cov = _numerical_cov(lambda th: _weibull_censored_loglik((th[0], np.exp(th[1]))), [c, np.log(scale)])
    names = list(res.names)
    order = [names.index("shape"), names.index("beta[0]")]
    assert_allclose(np.sqrt(np.diag(res.cov)[order]), np.sqrt(np.diag(cov)), rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# 7. Student t regression (intercept only) vs scipy.stats.t.fit
# ----------------------------------------------------------------------------------------------
def _t_loglik(theta):
    return np.sum(scipy_stats.t.logpdf(Y_T, theta[0], theta[1], theta[2]))


@pytest.fixture(scope="module")
def student_t():
    res = models.fit(models.student_t(), _data(Y_T, ONES))
    df, loc, scale = scipy_stats.t.fit(Y_T, optimizer=_tight_fmin)
    return res, np.array([df, loc, scale])


def _t_df_loc_scale(res):
    return np.array([float(res.params["nu"]), float(res.params["beta"][0]), float(res.params["sigma"])])


def test_student_t_vs_scipy_fit(student_t):
    # Tightened Nelder-Mead: accurate to ~2e-8 relative (measured).
    res, ref = student_t
    assert_allclose(_t_df_loc_scale(res), ref, rtol=1e-6)


def test_student_t_stderr_vs_numerical_hessian(student_t):
    res, _ = student_t
    cov = _numerical_cov(_t_loglik, _t_df_loc_scale(res))
    names = list(res.names)
    order = [names.index("nu"), names.index("beta[0]"), names.index("sigma")]
    assert_allclose(np.sqrt(np.diag(res.cov)[order]), np.sqrt(np.diag(cov)), rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# 8. Two-component normal mixture of regressions vs an EM algorithm in NumPy
# ----------------------------------------------------------------------------------------------
def _mixture_loglik_np(beta, pi, sigma):
    mu = X @ beta
    l0 = np.log(pi) + scipy_stats.norm.logpdf(Y_MIX, mu[:, 0], sigma[0])
    l1 = np.log1p(-pi) + scipy_stats.norm.logpdf(Y_MIX, mu[:, 1], sigma[1])
    return np.logaddexp(l0, l1)


def _em(start, max_iter=20000):
    """EM for the mixture of two regressions: E-step responsibilities, M-step weighted least
    squares per component; iterated until no parameter moves by more than 1e-14 (relative)."""
    beta, pi, sigma = start["beta"].copy(), float(start["pi"]), np.asarray(start["sigma"], float).copy()
    for _ in range(max_iter):
        mu = X @ beta
        l0 = np.log(pi) + scipy_stats.norm.logpdf(Y_MIX, mu[:, 0], sigma[0])
        l1 = np.log1p(-pi) + scipy_stats.norm.logpdf(Y_MIX, mu[:, 1], sigma[1])
        tau0 = np.exp(l0 - np.logaddexp(l0, l1))
        new_beta, new_sigma = np.empty_like(beta), np.empty_like(sigma)
        for j, tau in enumerate((tau0, 1.0 - tau0)):
            new_beta[:, j] = np.linalg.solve(X.T @ (tau[:, None] * X), X.T @ (tau * Y_MIX))
            new_sigma[j] = np.sqrt(np.sum(tau * (Y_MIX - X @ new_beta[:, j]) ** 2) / np.sum(tau))
        new_pi = float(np.mean(tau0))
        old = np.concatenate([beta.ravel(), [pi], sigma])
        new = np.concatenate([new_beta.ravel(), [new_pi], new_sigma])
        beta, pi, sigma = new_beta, new_pi, new_sigma
        if np.max(np.abs(new - old) / np.maximum(np.abs(new), 1.0)) < 1e-14:
            break
    return beta, pi, sigma


@pytest.fixture(scope="module")
def mixture():
    model = models.normal_mixture()
    data = _data(Y_MIX)
    res = models.fit(model, data)
    return res, _em(model.start(data))


def test_mixture_converged(mixture):
    assert mixture[0].converged, mixture[0].status


def test_mixture_params_vs_em(mixture):
    res, (beta, pi, sigma) = mixture
    got = np.concatenate([res.params["beta"].ravel(), [res.params["pi"]], res.params["sigma"]])
    assert_allclose(got, np.concatenate([beta.ravel(), [pi], sigma]), rtol=1e-6, atol=1e-9)


def test_mixture_loglik_vs_numpy(mixture):
    res, (beta, pi, sigma) = mixture
    assert_allclose(res.loglik, np.sum(_mixture_loglik_np(beta, pi, sigma)), rtol=1e-10)


def test_mixture_stderr_vs_numerical_hessian(mixture):
    res, _ = mixture
    names = list(res.names)  # beta[0,0], beta[0,1], ..., pi, sigma[0], sigma[1]: the layout below

    def loglik(theta):
        return np.sum(_mixture_loglik_np(theta[:6].reshape(3, 2), theta[6], theta[7:]))

    assert names[6] == "pi" and names[7] == "sigma[0]"
    cov = _numerical_cov(loglik, _flat(res.params))
    assert_allclose(np.sqrt(np.diag(res.cov)), np.sqrt(np.diag(cov)), rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# 9. Fisher scoring with each model's expected information reaches the Newton optimum
#
# Laplace is left out: its smoothed objective has curvature ~1/(h b) near the zero residuals that
# the expected information X'X/b^2 does not see, so scoring only creeps (Newton is the method).
# ----------------------------------------------------------------------------------------------
FISHER = {
    "gaussian": (models.gaussian, _data(Y_GAUSS)),
    "student_t": (models.student_t, _data(Y_T, ONES)),
    "logit": (models.logit, _data(Y_LOGIT)),
    "probit": (models.probit, _data(Y_PROBIT)),
    "mnlogit": (models.mnlogit, _data(Y_MN)),
    "poisson": (models.poisson, _data(Y_POIS)),
    "gamma": (models.gamma, _data(Y_GAMMA)),
}


@pytest.fixture(scope="module", params=list(FISHER))
def fisher_pair(request):
    factory, data = FISHER[request.param]
    model = factory()
    return models.fit(model, data), models.fit(model, data, method="fisher")


def test_fisher_converged(fisher_pair):
    _, fisher = fisher_pair
    assert fisher.converged and fisher.method == "fisher", fisher.status


def test_fisher_reaches_newton_optimum(fisher_pair):
    newton, fisher = fisher_pair
    assert_allclose(_flat(fisher.params), _flat(newton.params), rtol=1e-6, atol=1e-10)


def test_fisher_same_oim_stderr(fisher_pair):
    # The covariance is evaluated at the optimum whatever the method.
    newton, fisher = fisher_pair
    assert_allclose(_flat(fisher.stderr), _flat(newton.stderr), rtol=1e-5)
