"""Reference tests: ``jaxmle.maximize`` against statsmodels on the same simulated data.

Every model is fitted once per module (module-scoped fixtures) and compared one quantity per
test. The log-likelihoods are plain module-level functions, so jaxmle's compiled solvers are
shared between the tests that use the same model (same function, same shapes).

Targets (from the task description):

* estimates: ``rtol=1e-6`` against statsmodels (with a tiny ``atol`` so that no coefficient
  near zero makes the relative test meaningless; the simulated coefficients are all far from 0);
* ``cov_type="oim"`` standard errors: ``rtol=1e-5`` against statsmodels ``bse`` (statsmodels'
  discrete models use the inverse of the analytic Hessian);
* ``cov_type="robust"`` / ``"cluster"``: ``rtol=1e-5`` against statsmodels HC0 / cluster;
* ``cov_type="opg"``: ``rtol=1e-6`` against an independent NumPy inverse of the sum of outer
  products of statsmodels' ``score_obs``.

statsmodels is fitted by Newton's method with a tight step tolerance (quadratic convergence
leaves an error far below 1e-10), so it is the accurate side of every comparison.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import stats
from numpy.testing import assert_allclose

import jaxmle

sm = pytest.importorskip("statsmodels.api")
sw = pytest.importorskip("statsmodels.stats.sandwich_covariance")

# ----------------------------------------------------------------------------------------------
# Simulated data: one design X (n, k) shared by every model, so compiled code is shared too.
# ----------------------------------------------------------------------------------------------
N = 400
K = 3
N_GROUPS = 40
RNG = np.random.default_rng(20240611)

X = np.column_stack([np.ones(N), RNG.normal(size=N), RNG.uniform(-1.0, 1.0, size=N)])
# Balanced clusters 0..G-1 (integer codes, as statsmodels' group_sums expects) with a random
# cluster effect in every linear predictor, so cluster-robust != robust.
GROUPS = np.arange(N) % N_GROUPS
CLUSTER_EFFECT = 0.5 * RNG.normal(size=N_GROUPS)[GROUPS]

_eta_logit = X @ np.array([-0.4, 0.9, -0.7]) + CLUSTER_EFFECT
Y_LOGIT = (RNG.uniform(size=N) < 1.0 / (1.0 + np.exp(-_eta_logit))).astype(np.float64)
_eta_probit = X @ np.array([0.3, -0.6, 0.8]) + CLUSTER_EFFECT
Y_PROBIT = (_eta_probit + RNG.normal(size=N) > 0).astype(np.float64)
_mu_pois = np.exp(X @ np.array([0.6, 0.4, -0.5]) + CLUSTER_EFFECT)
Y_POISSON = RNG.poisson(_mu_pois).astype(np.float64)
_ALPHA = 0.6
_mu_nb = np.exp(X @ np.array([0.8, 0.5, -0.4]))
Y_NB = RNG.negative_binomial(1.0 / _ALPHA, 1.0 / (1.0 + _ALPHA * _mu_nb)).astype(np.float64)
Y_OLS = X @ np.array([1.0, 2.0, -1.5]) + 1.3 * RNG.normal(size=N)

# Integer frequency weights for the weights test.
FREQ_W = RNG.integers(1, 4, size=N).astype(np.float64)


# ----------------------------------------------------------------------------------------------
# Log-likelihoods (module level: one compiled engine per model, shared across tests).
# ----------------------------------------------------------------------------------------------
def logit_loglik(params, data):
    eta = data["X"] @ params["beta"]
    y = data["y"]
    return y * jax.nn.log_sigmoid(eta) + (1.0 - y) * jax.nn.log_sigmoid(-eta)


def logit_expected_info(params, data):
    """Expected (= observed, canonical link) information X^T diag(p(1-p)) X."""
    p = jax.nn.sigmoid(data["X"] @ params["beta"])
    w = p * (1.0 - p)
    return data["X"].T @ (w[:, None] * data["X"])


def probit_loglik(params, data):
    eta = data["X"] @ params["beta"]
    y = data["y"]
    return y * stats.norm.logcdf(eta) + (1.0 - y) * stats.norm.logcdf(-eta)


def poisson_loglik(params, data):
    return stats.poisson.logpmf(data["y"], jnp.exp(data["X"] @ params["beta"]))


def nb2_loglik(params, data):
    """NB2 (statsmodels loglike_method='nb2'): Var(y) = mu + alpha mu^2.

    scipy/JAX nbinom(k; n, p) with n = 1/alpha (size) and p = n / (n + mu) = 1 / (1 + alpha mu).
    """
    mu = jnp.exp(data["X"] @ params["beta"])
    alpha = params["alpha"]
    return stats.nbinom.logpmf(data["y"], 1.0 / alpha, 1.0 / (1.0 + alpha * mu))


def gaussian_loglik(params, data):
    return stats.norm.logpdf(data["y"], data["X"] @ params["beta"], params["sigma"])


def _data(y):
    return {"X": X, "y": y}


BETA0 = {"beta": np.zeros(K)}


# ----------------------------------------------------------------------------------------------
# statsmodels references (Newton with a tight step tolerance: accurate far below 1e-10)
# ----------------------------------------------------------------------------------------------
SM_FIT = {"method": "newton", "maxiter": 100, "tol": 1e-12, "disp": 0}


def _sm_logit(**kw):
    return sm.Logit(Y_LOGIT, X).fit(**SM_FIT, **kw)


def _sm_poisson(**kw):
    return sm.Poisson(Y_POISSON, X).fit(**SM_FIT, **kw)


SM_MODELS = {
    "logit": _sm_logit,
    "probit": lambda **kw: sm.Probit(Y_PROBIT, X).fit(**SM_FIT, **kw),
    "poisson": _sm_poisson,
    # NB2 with Newton: statsmodels then steps in alpha (not log alpha) and its params/bse are
    # [beta..., alpha] with the inverse analytic Hessian.
    "nb2": lambda **kw: sm.NegativeBinomial(Y_NB, X, loglike_method="nb2").fit(**SM_FIT, **kw),
}

JAX_MODELS = {
    "logit": (logit_loglik, BETA0, None, Y_LOGIT),
    "probit": (probit_loglik, BETA0, None, Y_PROBIT),
    "poisson": (poisson_loglik, BETA0, None, Y_POISSON),
    "nb2": (nb2_loglik, {"beta": np.zeros(K), "alpha": np.asarray(1.0)}, {"alpha": "positive"}, Y_NB),
}


def _fit(model, **kw):
    loglik, p0, constraints, y = JAX_MODELS[model]
    return jaxmle.maximize(loglik, p0, _data(y), constraints=constraints, **kw)


def _flat_sm_order(res, values=None):
    """jaxmle flat values (``values`` or the estimates) in statsmodels order [beta..., alpha]."""
    tree = res.params if values is None else values
    out = list(np.ravel(tree["beta"]))
    if "alpha" in tree:
        out.append(float(np.asarray(tree["alpha"])))
    return np.asarray(out)


def _cov_sm_order(res):
    """jaxmle covariance reordered to statsmodels' parameter order [beta..., alpha]."""
    names = list(res.names)
    order = [names.index(f"beta[{j}]") for j in range(K)]
    if "alpha" in names:
        order.append(names.index("alpha"))
    return res.cov[np.ix_(order, order)]


def _assert_cov_close(cov, ref, rtol):
    # Relative test on every entry, with an absolute floor at rtol * (largest entry): off-diagonal
    # covariances near zero carry the absolute (not relative) error of the matrix inversion.
    assert_allclose(cov, ref, rtol=rtol, atol=rtol * np.max(np.abs(ref)))


# ----------------------------------------------------------------------------------------------
# 1. Estimates, log-likelihood and oim standard errors: Logit, Probit, Poisson, NB2
# ----------------------------------------------------------------------------------------------
MODELS = list(SM_MODELS)


@pytest.fixture(scope="module", params=MODELS)
def oim_pair(request):
    model = request.param
    return model, _fit(model), SM_MODELS[model]()


def test_sm_reference_converged(oim_pair):
    model, res, ref = oim_pair
    assert res.converged, res.status
    assert ref.mle_retvals["converged"], model


def test_params_match_statsmodels(oim_pair):
    _, res, ref = oim_pair
    assert_allclose(_flat_sm_order(res), ref.params, rtol=1e-6, atol=1e-10)


def test_loglik_matches_statsmodels(oim_pair):
    # The log-likelihood is second-order in the estimation error: much tighter than 1e-6.
    _, res, ref = oim_pair
    assert_allclose(res.loglik, ref.llf, rtol=1e-10)


def test_oim_stderr_matches_statsmodels_bse(oim_pair):
    _, res, ref = oim_pair
    assert_allclose(_flat_sm_order(res, res.stderr), ref.bse, rtol=1e-5)


def test_oim_cov_matches_statsmodels(oim_pair):
    _, res, ref = oim_pair
    _assert_cov_close(_cov_sm_order(res), np.asarray(ref.cov_params()), rtol=1e-5)


def test_hessian_matches_statsmodels(oim_pair):
    # res.hessian is in the constrained parameters (alpha itself for NB2), like statsmodels'.
    _, res, ref = oim_pair
    names = list(res.names)
    order = [names.index(f"beta[{j}]") for j in range(K)] + ([names.index("alpha")] if "alpha" in names else [])
    _assert_cov_close(res.hessian[np.ix_(order, order)], ref.model.hessian(ref.params), rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# 1b. OLS as a Gaussian likelihood
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ols_pair():
    res = jaxmle.maximize(
        gaussian_loglik, {"beta": np.zeros(K), "sigma": np.asarray(1.0)}, _data(Y_OLS),
        constraints={"sigma": "positive"},
    )
    return res, sm.OLS(Y_OLS, X).fit()


def test_ols_converged(ols_pair):
    assert ols_pair[0].converged, ols_pair[0].status


def test_ols_beta(ols_pair):
    res, ref = ols_pair
    assert_allclose(res.params["beta"], ref.params, rtol=1e-6)


def test_ols_sigma2_is_ssr_over_n(ols_pair):
    # The Gaussian MLE of sigma^2 is ssr/n (not the unbiased ssr/(n-k) = ref.scale).
    res, ref = ols_pair
    assert_allclose(float(res.params["sigma"]) ** 2, ref.ssr / N, rtol=1e-6)


def test_ols_loglik(ols_pair):
    # statsmodels' OLS llf is the Gaussian log-likelihood at (beta_hat, ssr/n).
    res, ref = ols_pair
    assert_allclose(res.loglik, ref.llf, rtol=1e-10)


def test_ols_oim_stderr_beta(ols_pair):
    # Derivation. With e = y - X beta and l = -n log sigma - e'e / (2 sigma^2) + const:
    #   -d2l/dbeta dbeta'  = X'X / sigma^2,
    #   -d2l/dbeta dsigma  = 2 X'e / sigma^3 = 0 at the MLE (normal equations X'e_hat = 0),
    # so the observed information is block diagonal and cov(beta_hat) = sigma_hat^2 (X'X)^-1
    # with sigma_hat^2 = ssr/n. statsmodels' OLS bse^2 = s^2 diag((X'X)^-1) with s^2 = ssr/(n-k).
    # Hence se_oim(beta) = bse * sqrt((ssr/n) / (ssr/(n-k))) = bse * sqrt((n-k)/n).
    res, ref = ols_pair
    assert_allclose(res.stderr["beta"], ref.bse * np.sqrt((N - K) / N), rtol=1e-5)


def test_ols_oim_stderr_sigma(ols_pair):
    # -d2l/dsigma2 = -n/sigma^2 + 3 e'e/sigma^4 = 2n/sigma_hat^2 at the MLE: se = sigma_hat/sqrt(2n).
    res, ref = ols_pair
    assert_allclose(float(res.stderr["sigma"]), np.sqrt(ref.ssr / N) / np.sqrt(2.0 * N), rtol=1e-5)


def _fit_gaussian(**kw):
    return jaxmle.maximize(
        gaussian_loglik, {"beta": np.zeros(K), "sigma": np.asarray(1.0)}, _data(Y_OLS),
        constraints={"sigma": "positive"}, **kw,
    )


def test_ols_robust_stderr_beta_is_hc0():
    # The observed information A is block diagonal (see above), so the beta block of the sandwich
    # A^-1 B A^-1 is A_bb^-1 B_bb A_bb^-1 = (X'X)^-1 (sum_i x_i x_i' e_i^2) (X'X)^-1: exactly
    # OLS HC0 (the beta-sigma score cross products in B do not enter the beta block).
    res = _fit_gaussian(cov_type="robust")
    ref = sm.OLS(Y_OLS, X).fit(cov_type="HC0")
    assert_allclose(res.stderr["beta"], ref.bse, rtol=1e-5)


def test_ols_cluster_stderr_beta_matches_statsmodels():
    # As for HC0: beta block = OLS cluster-robust without small-sample factors (CR0) * G/(G-1).
    res = _fit_gaussian(cov_type="cluster", cluster=GROUPS)
    ref = sm.OLS(Y_OLS, X).fit(cov_type="cluster", cov_kwds={"groups": GROUPS, "use_correction": False})
    assert_allclose(res.stderr["beta"], ref.bse * np.sqrt(N_GROUPS / (N_GROUPS - 1.0)), rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# 2. Robust (HC0) standard errors
# ----------------------------------------------------------------------------------------------
# NB2 included: the sandwich in log(alpha) mapped back by the delta method must equal the sandwich
# in alpha (A_z = J'AJ and B_z = J'BJ at the optimum, so J A_z^-1 B_z A_z^-1 J' = A^-1 B A^-1).
ROBUST_MODELS = ["logit", "poisson", "nb2"]


@pytest.fixture(scope="module", params=ROBUST_MODELS)
def robust_pair(request):
    model = request.param
    return _fit(model, cov_type="robust"), SM_MODELS[model](cov_type="HC0")


def test_robust_params_unchanged(robust_pair):
    res, ref = robust_pair
    assert_allclose(_flat_sm_order(res), ref.params, rtol=1e-6, atol=1e-10)


def test_robust_stderr_matches_hc0(robust_pair):
    res, ref = robust_pair
    assert_allclose(_flat_sm_order(res, res.stderr), ref.bse, rtol=1e-5)


def test_robust_cov_matches_hc0(robust_pair):
    res, ref = robust_pair
    _assert_cov_close(_cov_sm_order(res), np.asarray(ref.cov_params()), rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# 3. Cluster-robust standard errors
#
# statsmodels 0.15, base/covtype.py: fit(cov_type="cluster", cov_kwds={"groups": g,
# "use_correction": c}) calls sandwich_covariance.cov_cluster(res, g, use_correction=c), which is
#     H^-1 (sum_g S_g S_g') H^-1                                   (use_correction=False)
#     H^-1 (sum_g S_g S_g') H^-1 * G/(G-1) * (n-1)/(n-k)           (use_correction=True, default)
# with H the analytic Hessian and S_g the sum of score_obs over cluster g. jaxmle's default applies
# only G/(G-1) (Stata's ml vce(cluster)); cluster_correction=False applies no factor.
# ----------------------------------------------------------------------------------------------
CLUSTER_FACTOR = N_GROUPS / (N_GROUPS - 1.0)


def _sm_extra_factor(ref):
    """statsmodels' extra (n-1)/(n-k) with k = all parameters (NB2: beta and alpha)."""
    k_params = len(ref.params)
    return (N - 1.0) / (N - k_params)


@pytest.fixture(scope="module", params=ROBUST_MODELS)
def cluster_case(request):
    model = request.param
    return {
        "model": model,
        "jax": _fit(model, cov_type="cluster", cluster=GROUPS),
        "jax_nocorr": _fit(model, cov_type="cluster", cluster=GROUPS, cluster_correction=False),
        "sm_nocorr": SM_MODELS[model](cov_type="cluster", cov_kwds={"groups": GROUPS, "use_correction": False}),
        "sm_corr": SM_MODELS[model](cov_type="cluster", cov_kwds={"groups": GROUPS, "use_correction": True}),
    }


def test_cluster_default_vs_cov_cluster_times_g_factor(cluster_case):
    ref_res = cluster_case["sm_nocorr"]
    ref = sw.cov_cluster(ref_res, GROUPS, use_correction=False) * CLUSTER_FACTOR
    _assert_cov_close(_cov_sm_order(cluster_case["jax"]), ref, rtol=1e-5)


def test_cluster_default_stderr_vs_statsmodels_corrected(cluster_case):
    # statsmodels' use_correction=True = jaxmle default * (n-1)/(n-k).
    sm_corr = cluster_case["sm_corr"]
    ref = sm_corr.bse / np.sqrt(_sm_extra_factor(sm_corr))
    res = cluster_case["jax"]
    assert_allclose(_flat_sm_order(res, res.stderr), ref, rtol=1e-5)


def test_cluster_no_correction_stderr_vs_statsmodels(cluster_case):
    res = cluster_case["jax_nocorr"]
    assert_allclose(_flat_sm_order(res, res.stderr), cluster_case["sm_nocorr"].bse, rtol=1e-5)


def test_cluster_no_correction_cov_vs_statsmodels(cluster_case):
    ref = np.asarray(cluster_case["sm_nocorr"].cov_params())
    _assert_cov_close(_cov_sm_order(cluster_case["jax_nocorr"]), ref, rtol=1e-5)


def test_cluster_correction_ratio_is_g_over_g_minus_1(cluster_case):
    # Same fit, same meat: the two jaxmle covariances differ by exactly G/(G-1).
    assert_allclose(cluster_case["jax"].cov, cluster_case["jax_nocorr"].cov * CLUSTER_FACTOR, rtol=1e-12)


def test_cluster_n_groups(cluster_case):
    assert cluster_case["jax"].n_groups == N_GROUPS


def test_cluster_labels_any_hashable_coding(cluster_case):
    # Non-consecutive, non-integer labels give the same covariance (labels are only identities).
    labels = np.array([f"g{7 * g + 3}" for g in GROUPS])
    res = _fit(cluster_case["model"], cov_type="cluster", cluster=labels)
    assert_allclose(res.cov, cluster_case["jax"].cov, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------------------------
# 4. OPG against an independent NumPy computation from statsmodels' score_obs
# ----------------------------------------------------------------------------------------------
OPG_MODELS = ["logit", "poisson", "nb2"]


@pytest.fixture(scope="module", params=OPG_MODELS)
def opg_pair(request):
    model = request.param
    ref = SM_MODELS[model]()
    s = ref.model.score_obs(ref.params)  # (n, k), NB2 in alpha (not log alpha)
    return _fit(model, cov_type="opg"), np.linalg.inv(s.T @ s)


def test_opg_stderr_matches_numpy(opg_pair):
    res, ref = opg_pair
    assert_allclose(np.sqrt(np.diag(_cov_sm_order(res))), np.sqrt(np.diag(ref)), rtol=1e-6)


def test_opg_cov_matches_numpy(opg_pair):
    # For NB2 this also checks the delta method: jaxmle inverts the OPG of log(alpha) scores and
    # maps back with J = d alpha / d log alpha; (J B_z^-1 J') equals the OPG inverse in alpha.
    res, ref = opg_pair
    _assert_cov_close(_cov_sm_order(res), ref, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# 5. Frequency weights == repeated rows (and == statsmodels GLM with freq_weights)
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weighted_fits():
    rep = np.repeat(np.arange(N), FREQ_W.astype(int))
    weighted = jaxmle.maximize(logit_loglik, BETA0, _data(Y_LOGIT), weights=FREQ_W)
    repeated = jaxmle.maximize(logit_loglik, BETA0, {"X": X[rep], "y": Y_LOGIT[rep]})
    glm = sm.GLM(Y_LOGIT, X, family=sm.families.Binomial(), freq_weights=FREQ_W).fit(tol=1e-12)
    return weighted, repeated, glm


def test_weights_params_equal_repeated_rows(weighted_fits):
    weighted, repeated, _ = weighted_fits
    assert_allclose(weighted.params["beta"], repeated.params["beta"], rtol=1e-6, atol=1e-10)


def test_weights_oim_stderr_equal_repeated_rows(weighted_fits):
    weighted, repeated, _ = weighted_fits
    assert_allclose(weighted.stderr["beta"], repeated.stderr["beta"], rtol=1e-5)


def test_weights_loglik_equal_repeated_rows(weighted_fits):
    weighted, repeated, _ = weighted_fits
    assert_allclose(weighted.loglik, repeated.loglik, rtol=1e-10)


def test_weights_nobs_is_rows(weighted_fits):
    weighted, repeated, _ = weighted_fits
    assert weighted.nobs == N
    assert repeated.nobs == int(FREQ_W.sum())
    assert weighted.wnobs == repeated.wnobs == repeated.nobs  # the sample size the weights stand for
    assert "weighted" in weighted.summary() and "weighted" not in repeated.summary()


def test_weights_information_criteria_equal_repeated_rows_and_glm(weighted_fits):
    # BIC's log(n) counts the observations the frequency weights stand for, as the repeated rows
    # (and statsmodels' GLM with freq_weights: n = df_model + df_resid + 1 = sum of the weights) do.
    weighted, repeated, glm = weighted_fits
    assert_allclose(weighted.bic, repeated.bic, rtol=1e-10)
    assert_allclose(weighted.aic, repeated.aic, rtol=1e-10)
    assert_allclose(weighted.bic, glm.info_criteria("bic"), rtol=1e-8)
    assert_allclose(weighted.aic, glm.aic, rtol=1e-8)


def test_weights_params_match_glm_freq_weights(weighted_fits):
    weighted, _, glm = weighted_fits
    assert_allclose(weighted.params["beta"], glm.params, rtol=1e-6, atol=1e-10)


def test_weights_oim_stderr_match_glm_freq_weights(weighted_fits):
    # Binomial GLM: scale fixed at 1, bse = sqrt(diag((X' W diag(p(1-p)) X)^-1)) = oim for logit.
    weighted, _, glm = weighted_fits
    assert_allclose(weighted.stderr["beta"], glm.bse, rtol=1e-5)


@pytest.fixture(scope="module", params=["opg", "robust", "cluster"])
def weighted_sandwich_fits(request):
    # Frequency weights must enter the scores' outer products once (w_i s_i s_i', and for
    # clusters S_g = sum_i w_i s_i), exactly as the repeated rows do.
    cov_type = request.param
    rep = np.repeat(np.arange(N), FREQ_W.astype(int))
    kw_w = {"cluster": GROUPS} if cov_type == "cluster" else {}
    kw_r = {"cluster": GROUPS[rep]} if cov_type == "cluster" else {}
    weighted = jaxmle.maximize(logit_loglik, BETA0, _data(Y_LOGIT), weights=FREQ_W, cov_type=cov_type, **kw_w)
    repeated = jaxmle.maximize(logit_loglik, BETA0, {"X": X[rep], "y": Y_LOGIT[rep]}, cov_type=cov_type, **kw_r)
    return weighted, repeated


def test_weights_sandwich_cov_equal_repeated_rows(weighted_sandwich_fits):
    weighted, repeated = weighted_sandwich_fits
    _assert_cov_close(weighted.cov, repeated.cov, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# 7. Every method reaches the statsmodels Logit optimum
# ----------------------------------------------------------------------------------------------
METHOD_KW = {
    "newton": {},
    "fisher": {"expected_info": logit_expected_info},
    "bhhh": {},
    "bfgs": {},
    "lbfgs": {},
}


@pytest.fixture(scope="module")
def logit_ref():
    return _sm_logit()


@pytest.fixture(scope="module", params=list(METHOD_KW))
def method_fit(request):
    method = request.param
    return method, _fit("logit", method=method, **METHOD_KW[method])


def test_method_converged(method_fit):
    method, res = method_fit
    assert res.converged, (method, res.status)
    assert res.method == method


def test_method_params_match_statsmodels_logit(method_fit, logit_ref):
    _, res = method_fit
    assert_allclose(res.params["beta"], logit_ref.params, rtol=1e-6, atol=1e-10)


def test_method_oim_stderr_match_statsmodels_logit(method_fit, logit_ref):
    # The covariance is computed at the estimate whatever the method: oim for all.
    _, res = method_fit
    assert_allclose(res.stderr["beta"], logit_ref.bse, rtol=1e-5)


def test_expected_cov_equals_oim_for_logit(logit_ref):
    # Canonical link: expected information == observed information, so cov_type="expected"
    # reproduces statsmodels' bse too.
    res = _fit("logit", cov_type="expected", expected_info=logit_expected_info)
    assert_allclose(res.stderr["beta"], logit_ref.bse, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# A covariate far from zero beside the intercept: an ill-conditioned but identified model
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["logit", "poisson"])
@pytest.mark.parametrize("center", [1e4, 1e5])
def test_a_covariate_far_from_zero_beside_the_intercept(model, center):
    # x1 + center is the same model as x1, reparametrised: the slopes are statsmodels' on the
    # centred design, the intercept is b0 - center * b1 (and its variance follows linearly).
    # The scaled information's smallest eigenvalue is ~1 / (2 center^2): the gradient's rounding
    # noise (eta = b0 + b1 x cancels 1e5-sized terms) is far above tol=1e-10, and Newton ran to
    # max_iter with the estimates already exact. It now stops two full Newton steps after the gain
    # reached f's rounding level. At center 1e4 (variance inflation ~1e8) the standard errors
    # stand; at 1e5 (~1e10, beyond SINGULAR_RTOL) they are NaN with a warning saying to centre,
    # except the third coefficient's, which must still count its small share of the nearly flat
    # direction (the generalized inverse dropped it: 0.9% too small).
    loglik, p0, _, y = JAX_MODELS[model]
    ref = SM_MODELS[model]()
    shifted = X.copy()
    shifted[:, 1] += center
    lin = np.eye(K)
    lin[0, 1] = -center
    ref_params, ref_cov = lin @ ref.params, lin @ ref.cov_params() @ lin.T
    ref_se = np.sqrt(np.diag(ref_cov))
    if center == 1e5:
        with pytest.warns(jaxmle.HessianWarning, match="covariate far from zero beside an intercept"):
            res = jaxmle.maximize(loglik, p0, {"X": shifted, "y": y})
        assert np.isnan(res.stderr["beta"][:2]).all()  # the intercept and the shifted covariate
        assert_allclose(res.stderr["beta"][2], ref_se[2], rtol=1e-5)
    else:
        res = jaxmle.maximize(loglik, p0, {"X": shifted, "y": y})
        assert_allclose(res.stderr["beta"], ref_se, rtol=1e-5)
    assert res.converged and res.n_iter < 15
    assert_allclose((res.params["beta"] - ref_params) / ref_se, 0.0, atol=1e-6)
