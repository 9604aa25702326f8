"""Likelihood-ratio, Wald and score tests (``jaxmle.lr_test``, ``wald_test``, ``score_test``).

References: statsmodels on the same simulated data (Logit ``llr``/``llf`` and ``wald_test``,
Poisson ``score_test(exog_extra=...)``), and closed forms written in NumPy from statsmodels'
``score_obs``/``hessian`` at jaxmle's restricted estimate. Models are fitted once per module;
the log-likelihoods are module-level functions so compiled solvers are shared. One quantity per
test, explicit tolerances:

* ``rtol=1e-6`` for every comparison against statsmodels (both sides are converged Newton fits:
  their estimates agree to ~1e-9 relative, and each statistic is a smooth function of them);
* ``rtol=1e-8`` where jaxmle is compared with a NumPy formula evaluated at jaxmle's *own*
  estimate (only rounding differs);
* ``rtol=1e-12`` where two jaxmle forms of the same hypothesis must give the same number.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import gammaln
from numpy.testing import assert_allclose
from scipy import stats

import jaxmle
from jaxmle._hypothesis import chi2_sf
from jaxmle._restrictions import parse_hypotheses

sm = pytest.importorskip("statsmodels.api")
scipy_stats = pytest.importorskip("scipy.stats")

N = 400
RNG = np.random.default_rng(20240612)
X = np.column_stack([np.ones(N), RNG.normal(size=N), RNG.uniform(-1.0, 1.0, size=N), RNG.normal(size=N)])

# Logit: beta[3] = 0 is true, beta[2] is not (so the tests below see both a null and an alternative).
Y_LOGIT = (RNG.uniform(size=N) < 1.0 / (1.0 + np.exp(-(X @ np.array([-0.3, 0.8, -0.6, 0.0]))))).astype(np.float64)
# Counts for the Poisson score tests: beta[2] = beta[3] = 0 holds, but the counts are overdispersed
# (negative binomial, Var = mu + 0.5 mu^2), so the Poisson information-matrix equality fails and
# the robust score test differs from the oim one.
_MU = np.exp(X @ np.array([0.5, 0.4, 0.0, 0.0]))
Y_COUNT = RNG.negative_binomial(2.0, 2.0 / (2.0 + _MU)).astype(np.float64)

LOGIT = {"X": X, "y": Y_LOGIT}
COUNT = {"X": X, "y": Y_COUNT}
BETA0 = {"beta": np.zeros(4)}
FIX_23 = {"beta": [False, False, True, True]}  # H0: beta[2] = beta[3] = 0
SM_FIT = {"method": "newton", "maxiter": 100, "tol": 1e-12, "disp": 0}


def logit_loglik(params, data):
    eta = data["X"] @ params["beta"]
    return data["y"] * jax.nn.log_sigmoid(eta) + (1.0 - data["y"]) * jax.nn.log_sigmoid(-eta)


def poisson_loglik(params, data):
    eta = data["X"] @ params["beta"]
    return data["y"] * eta - jnp.exp(eta) - gammaln(data["y"] + 1.0)


def poisson_total(params, data):
    """The same Poisson log-likelihood returned as a scalar total."""
    return jnp.sum(poisson_loglik(params, data))


def gaussian_loglik(params, data):
    return jax.scipy.stats.norm.logpdf(data["y"], data["X"] @ params["beta"], params["sigma"])


# ----------------------------------------------------------------------------------------------
# Fits (module-scoped)
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def logit_full():
    return jaxmle.maximize(logit_loglik, BETA0, LOGIT)


@pytest.fixture(scope="module")
def logit_full_robust():
    return jaxmle.maximize(logit_loglik, BETA0, LOGIT, cov_type="robust")


@pytest.fixture(scope="module")
def logit_const():
    """Intercept only: the null model of statsmodels' ``llr``."""
    return jaxmle.maximize(logit_loglik, BETA0, LOGIT, fixed={"beta": [False, True, True, True]})


@pytest.fixture(scope="module")
def logit_restr():
    return jaxmle.maximize(logit_loglik, BETA0, LOGIT, fixed=FIX_23)


@pytest.fixture(scope="module")
def sm_logit_full():
    return sm.Logit(Y_LOGIT, X).fit(**SM_FIT)


@pytest.fixture(scope="module")
def sm_logit_full_hc0():
    return sm.Logit(Y_LOGIT, X).fit(**SM_FIT, cov_type="HC0")


@pytest.fixture(scope="module")
def count_restr():
    return jaxmle.maximize(poisson_loglik, BETA0, COUNT, fixed=FIX_23)


@pytest.fixture(scope="module")
def sm_count_restr():
    return sm.Poisson(Y_COUNT, X[:, :2]).fit(**SM_FIT)


@pytest.fixture(scope="module")
def count_parts(count_restr):
    """statsmodels' full-model score_obs (n, 4) and Hessian (4, 4) at jaxmle's restricted estimate."""
    full = sm.Poisson(Y_COUNT, X)
    theta = count_restr.params["beta"]
    return full.score_obs(theta), full.hessian(theta)


def _boos(score_obs, hessian, tested, centred=False):
    """Robust score statistic ``s~^T (C B C^T)^-1 s~``, ``C = [-A_ba A_aa^-1, I]`` (NumPy reference)."""
    s = score_obs.sum(0)
    a_info = -hessian
    if centred:  # statsmodels' HC0 score test: n * np.cov(score_obs.T), centred with ddof=1
        meat = len(score_obs) * np.cov(score_obs.T)
    else:
        meat = score_obs.T @ score_obs
    a, b = ~tested, tested
    C = np.zeros((tested.sum(), len(tested)))
    C[:, a] = -a_info[np.ix_(b, a)] @ np.linalg.inv(a_info[np.ix_(a, a)])
    C[:, b] = np.eye(tested.sum())
    s_eff = C @ s
    return float(s_eff @ np.linalg.solve(C @ meat @ C.T, s_eff))


# ----------------------------------------------------------------------------------------------
# Likelihood ratio
# ----------------------------------------------------------------------------------------------
def test_lr_statistic_matches_statsmodels_llr(logit_const, logit_full, sm_logit_full):
    # statsmodels' llr: LR of the fit against the intercept-only model.
    assert_allclose(jaxmle.lr_test(logit_const, logit_full).statistic, sm_logit_full.llr, rtol=1e-6)


def test_lr_pvalue_matches_statsmodels_llr_pvalue(logit_const, logit_full, sm_logit_full):
    assert_allclose(jaxmle.lr_test(logit_const, logit_full).pvalue, sm_logit_full.llr_pvalue, rtol=1e-6)


def test_lr_df_is_difference_in_free_parameters(logit_const, logit_full, sm_logit_full):
    assert jaxmle.lr_test(logit_const, logit_full).df == sm_logit_full.df_model == 3


def test_lr_nested_matches_statsmodels_loglik_difference(logit_restr, logit_full, sm_logit_full):
    sm_restr = sm.Logit(Y_LOGIT, X[:, :2]).fit(**SM_FIT)
    out = jaxmle.lr_test(logit_restr, logit_full)
    assert_allclose(out.statistic, 2.0 * (sm_logit_full.llf - sm_restr.llf), rtol=1e-6)


def test_lr_nested_pvalue_is_chi2_tail(logit_restr, logit_full):
    # Upper chi-square tail computed by jax's gammaincc against scipy's chi2.sf (rounding only).
    out = jaxmle.lr_test(logit_restr, logit_full)
    assert out.df == 2
    assert_allclose(out.pvalue, scipy_stats.chi2.sf(out.statistic, 2), rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# Wald
# ----------------------------------------------------------------------------------------------
R2 = np.array([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, -2.0]])
Q2 = np.array([0.3, -0.5])


def test_wald_oim_statistic_matches_statsmodels(logit_full, sm_logit_full):
    ref = sm_logit_full.wald_test((R2, Q2), scalar=True, use_f=False)
    assert_allclose(jaxmle.wald_test(logit_full, R2, Q2).statistic, ref.statistic, rtol=1e-6)


def test_wald_oim_pvalue_matches_statsmodels(logit_full, sm_logit_full):
    ref = sm_logit_full.wald_test((R2, Q2), scalar=True, use_f=False)
    assert_allclose(jaxmle.wald_test(logit_full, R2, Q2).pvalue, ref.pvalue, rtol=1e-6)


def test_wald_robust_statistic_matches_statsmodels_hc0(logit_full_robust, sm_logit_full_hc0):
    ref = sm_logit_full_hc0.wald_test((R2, Q2), scalar=True, use_f=False)
    assert_allclose(jaxmle.wald_test(logit_full_robust, R2, Q2).statistic, ref.statistic, rtol=1e-6)


def test_wald_robust_pvalue_matches_statsmodels_hc0(logit_full_robust, sm_logit_full_hc0):
    ref = sm_logit_full_hc0.wald_test((R2, Q2), scalar=True, use_f=False)
    assert_allclose(jaxmle.wald_test(logit_full_robust, R2, Q2).pvalue, ref.pvalue, rtol=1e-6)


def test_wald_df_is_number_of_rows(logit_full):
    assert jaxmle.wald_test(logit_full, R2, Q2).df == 2


def test_wald_string_form_equals_matrix_form(logit_full):
    text = jaxmle.wald_test(logit_full, "beta[1] + beta[2] = 0.3, beta[2] - 2*beta[3] = -0.5")
    assert_allclose(text.statistic, jaxmle.wald_test(logit_full, R2, Q2).statistic, rtol=1e-12)


def test_wald_string_equality_of_two_parameters(logit_full):
    text = jaxmle.wald_test(logit_full, "beta[1] = beta[2]")
    assert_allclose(text.statistic, jaxmle.wald_test(logit_full, [0.0, 1.0, -1.0, 0.0]).statistic, rtol=1e-12)


def test_wald_string_with_coefficients_and_constant(logit_full):
    text = jaxmle.wald_test(logit_full, "2*beta[1] - beta[2] = 1")
    ref = jaxmle.wald_test(logit_full, [[0.0, 2.0, -1.0, 0.0]], [1.0])
    assert_allclose(text.statistic, ref.statistic, rtol=1e-12)


def test_wald_string_parentheses_division_and_sides(logit_full):
    # (beta[1] - 1)/2 + beta[2] = -beta[2]  <=>  0.5 beta[1] + 2 beta[2] = 0.5
    text = jaxmle.wald_test(logit_full, "(beta[1] - 1) / 2 + beta[2] = -beta[2]")
    ref = jaxmle.wald_test(logit_full, [0.0, 0.5, 2.0, 0.0], 0.5)
    assert_allclose(text.statistic, ref.statistic, rtol=1e-12)


def test_wald_dict_form_equals_matrix_form(logit_full):
    d = jaxmle.wald_test(logit_full, {"beta[2]": 0, "beta[3]": 0.1})
    ref = jaxmle.wald_test(logit_full, np.eye(4)[2:], [0.0, 0.1])
    assert_allclose(d.statistic, ref.statistic, rtol=1e-12)


def test_wald_list_of_strings_equals_one_string(logit_full):
    a = jaxmle.wald_test(logit_full, ["beta[2] = 0", "beta[3] = 0"])
    b = jaxmle.wald_test(logit_full, "beta[2] = 0; beta[3] = 0")
    assert_allclose(a.statistic, b.statistic, rtol=1e-12)


def test_wald_single_restriction_is_z_squared(logit_full):
    out = jaxmle.wald_test(logit_full, "beta[1]")  # no '=' means '= 0'
    assert_allclose(out.statistic, logit_full.zvalues["beta"][1] ** 2, rtol=1e-10)


def test_wald_on_positive_parameter_uses_constrained_scale():
    # Gaussian regression with sigma > 0: cov is for sigma itself (delta method), so
    # W(sigma = 1) = ((sigma_hat - 1) / se(sigma_hat))^2.
    y = X[:, :2] @ np.array([1.0, 2.0]) + 1.3 * RNG.normal(size=N)
    res = jaxmle.maximize(gaussian_loglik, {"beta": np.zeros(2), "sigma": 1.0}, {"X": X[:, :2], "y": y},
                          constraints={"sigma": "positive"})
    z = (res.params["sigma"] - 1.0) / res.stderr["sigma"]
    assert_allclose(jaxmle.wald_test(res, {"sigma": 1.0}).statistic, z**2, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# The hypothesis parser (names with commas, errors)
# ----------------------------------------------------------------------------------------------
NAMES = ("beta[0]", "beta[1]", "theta[1,2]", "sigma")


def test_parser_names_with_commas_and_spaces():
    R, q = parse_hypotheses("theta[1, 2] - 3*sigma = 2, beta[0]", NAMES)
    assert_allclose(R, [[0, 0, 1, -3], [1, 0, 0, 0]])
    assert_allclose(q, [2, 0])


def test_parser_repeated_names_add_up():
    R, q = parse_hypotheses("beta[0] + 2 = 3*beta[0] - beta[1] + 1e-1", NAMES)
    assert_allclose(R, [[-2, 1, 0, 0]])
    assert_allclose(q, [-1.9])


@pytest.mark.parametrize(
    "spec, match",
    [
        ("beta[5] = 0", r"unknown parameter 'beta\[5\]'; did you mean one of beta\[0\], beta\[1\]"),
        ("gamma = 0", "unknown parameter 'gamma'"),
        ("beta[0]*beta[1] = 0", "multiplies parameters"),
        ("1/beta[0] = 0", "divides by a parameter"),
        ("2 beta[0] = 0", r"write 2\*beta\[1\]"),
        ("beta[0] = 0,", "empty hypothesis"),
        ("beta[0] - beta[0] = 1", "involves no parameter"),
        ("(beta[0] = 0", r"expected '\)'"),
        ("beta[0] ^ 2", "unexpected character"),
    ],
)
def test_parser_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_hypotheses(spec, NAMES)


# ----------------------------------------------------------------------------------------------
# Score (Lagrange multiplier)
# ----------------------------------------------------------------------------------------------
def test_score_oim_statistic_matches_statsmodels(count_restr, sm_count_restr):
    ref = sm_count_restr.score_test(exog_extra=X[:, 2:])
    out = jaxmle.score_test(poisson_loglik, count_restr, COUNT)
    assert_allclose(out.statistic, ref.statistic, rtol=1e-6)


def test_score_oim_pvalue_matches_statsmodels(count_restr, sm_count_restr):
    ref = sm_count_restr.score_test(exog_extra=X[:, 2:])
    out = jaxmle.score_test(poisson_loglik, count_restr, COUNT)
    assert_allclose(out.pvalue, ref.pvalue, rtol=1e-6)
    assert out.df == ref.k_constraint == 2


def test_score_oim_matches_poisson_closed_form(count_restr):
    # s = X^T (y - mu~) (only the omitted-regressor rows are non-zero), I = X^T diag(mu~) X.
    mu = np.exp(X @ count_restr.params["beta"])
    s = X.T @ (Y_COUNT - mu)
    info = X.T @ (mu[:, None] * X)
    out = jaxmle.score_test(poisson_loglik, count_restr, COUNT)
    assert_allclose(out.statistic, s @ np.linalg.solve(info, s), rtol=1e-8)


def test_score_oim_with_scalar_loglik(count_restr):
    # A loglik returning the total gives the same oim statistic (no contributions needed).
    a = jaxmle.score_test(poisson_total, count_restr, COUNT)
    b = jaxmle.score_test(poisson_loglik, count_restr, COUNT)
    assert_allclose(a.statistic, b.statistic, rtol=1e-10)


def test_score_opg_matches_numpy(count_restr, count_parts):
    score_obs, _ = count_parts
    s = score_obs.sum(0)
    out = jaxmle.score_test(poisson_loglik, count_restr, COUNT, cov_type="opg")
    assert_allclose(out.statistic, s @ np.linalg.solve(score_obs.T @ score_obs, s), rtol=1e-8)


def test_score_robust_matches_boos_formula(count_restr, count_parts):
    score_obs, hessian = count_parts
    out = jaxmle.score_test(poisson_loglik, count_restr, COUNT, cov_type="robust")
    assert_allclose(out.statistic, _boos(score_obs, hessian, np.array(count_restr.fixed)), rtol=1e-8)


def test_boos_reference_with_centred_meat_reproduces_statsmodels_hc0(sm_count_restr):
    # Pins the NumPy reference formula itself: with statsmodels' centred meat it gives statsmodels'
    # HC0 score test (at statsmodels' own restricted estimate).
    full = sm.Poisson(Y_COUNT, X)
    theta = np.concatenate([sm_count_restr.params, [0.0, 0.0]])
    mine = _boos(full.score_obs(theta), full.hessian(theta), np.array([False, False, True, True]), centred=True)
    ref = sm_count_restr.score_test(exog_extra=X[:, 2:], cov_type="HC0")
    assert_allclose(mine, ref.statistic, rtol=1e-8)


def test_score_robust_close_to_statsmodels_hc0(count_restr, sm_count_restr):
    # jaxmle's meat is uncentred (as its HC0 covariance); statsmodels centres the scores and scales
    # by n/(n-1). Under the null the difference is O(LM/n + 1/n), below 1% at n=400 (0.26% on this
    # draw): loose on purpose, rtol 0.02.
    ref = sm_count_restr.score_test(exog_extra=X[:, 2:], cov_type="HC0")
    out = jaxmle.score_test(poisson_loglik, count_restr, COUNT, cov_type="robust")
    assert_allclose(out.statistic, ref.statistic, rtol=0.02)


def test_score_robust_differs_from_oim_under_overdispersion(count_restr):
    # Var(y) = mu + mu^2/2: the Poisson information understates the score variance, so the robust
    # statistic is clearly smaller (a check that the robust path is not the oim one).
    oim = jaxmle.score_test(poisson_loglik, count_restr, COUNT).statistic
    rob = jaxmle.score_test(poisson_loglik, count_restr, COUNT, cov_type="robust").statistic
    assert rob < 0.8 * oim


def test_score_frequency_weights_equal_repeated_rows():
    w = RNG.integers(1, 4, size=N).astype(np.float64)
    rep = {k: np.repeat(v, w.astype(int), axis=0) for k, v in COUNT.items()}
    res_w = jaxmle.maximize(poisson_loglik, BETA0, COUNT, fixed=FIX_23, weights=w)
    res_rep = jaxmle.maximize(poisson_loglik, BETA0, rep, fixed=FIX_23)
    a = jaxmle.score_test(poisson_loglik, res_w, COUNT, weights=w, cov_type="robust")
    b = jaxmle.score_test(poisson_loglik, res_rep, rep, cov_type="robust")
    assert_allclose(a.statistic, b.statistic, rtol=1e-7)
    # the weights of the fit are required (their sum must be the fit's wnobs): not silently dropped
    with pytest.raises(ValueError, match="score_test: the fit was made with frequency weights summing to"):
        jaxmle.score_test(poisson_loglik, res_w, COUNT)
    with pytest.raises(ValueError, match="the fit was made with no weights but weights summing to"):
        jaxmle.score_test(poisson_loglik, res_rep, rep, weights=np.full(rep["y"].shape[0], 2.0))


# ----------------------------------------------------------------------------------------------
# Large sample: LR, Wald and score agree under a true null
# ----------------------------------------------------------------------------------------------
def test_trinity_agrees_on_large_sample():
    # Correctly specified Poisson regression, n = 5000, H0: beta[2] = beta[3] = 0 true. LR, Wald and
    # score share the same quadratic approximation and differ through the cubic term of the
    # log-likelihood: relative differences are O_p(n^-1/2) (about 1.4% at n = 5000, times a model
    # constant and sqrt(statistic)). Observed on this draw: 3e-4. rtol 0.02 (loose on purpose: an
    # asymptotic statement) still fails for any real error (a wrong block, a missing factor).
    rng = np.random.default_rng(7)
    n = 5000
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(-1.0, 1.0, size=n), rng.normal(size=n)])
    y = rng.poisson(np.exp(x @ np.array([0.5, 0.4, 0.0, 0.0]))).astype(np.float64)
    data = {"X": x, "y": y}
    full = jaxmle.maximize(poisson_loglik, BETA0, data)
    restr = jaxmle.maximize(poisson_loglik, BETA0, data, fixed=FIX_23)
    lr = jaxmle.lr_test(restr, full).statistic
    wald = jaxmle.wald_test(full, "beta[2] = 0, beta[3] = 0").statistic
    score = jaxmle.score_test(poisson_loglik, restr, data).statistic
    assert lr > 0.5  # not a degenerate near-zero draw, where relative differences mean nothing
    assert_allclose([wald, score], [lr, lr], rtol=0.02)


# ----------------------------------------------------------------------------------------------
# TestResult and errors
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 50, 51, 400])
def test_chi2_tail_matches_scipy(df):
    # p-values come from the closed forms of the chi-square tail for integer df (the standard
    # library's erfc and lgamma; scipy is not a dependency of jaxmle); against scipy.stats.chi2.sf
    # from 1e-300 to far in the tail (p ~ 1e-215 at x = 1000).
    x = np.array([1e-300, 1e-12, 1e-3, 0.5, 3.0, 20.0, 150.0, 399.0, 1000.0])
    ours = np.array([chi2_sf(v, df) for v in x])
    assert_allclose(ours, scipy_stats.chi2.sf(x, df), rtol=1e-11, atol=0)
    assert (ours > 0).all()
    assert chi2_sf(0.0, df) == 1.0 and chi2_sf(-1e-9, df) == 1.0 and chi2_sf(np.inf, df) == 0.0
    assert np.isnan(chi2_sf(np.nan, df))


@pytest.mark.parametrize("df", [0, 1.5, -2])
def test_chi2_tail_needs_a_positive_integer_df(df):
    with pytest.raises(ValueError, match="df must be a positive integer"):
        chi2_sf(3.0, df)


def test_repr_is_readable():
    out = jaxmle.TestResult(statistic=5.12345, df=2, pvalue=0.077186, name="LR test")
    assert repr(out) == "<LR test: chi2(2) = 5.123, p = 0.07719>"


def test_result_is_frozen():
    out = jaxmle.TestResult(statistic=1.0, df=1, pvalue=0.3, name="Wald test")
    with pytest.raises(AttributeError):
        out.statistic = 2.0


def test_lr_swapped_arguments_raise(logit_restr, logit_full):
    with pytest.raises(ValueError, match=r"not nested \(are the arguments swapped"):
        jaxmle.lr_test(logit_full, logit_restr)


def test_lr_same_size_raises(logit_full):
    with pytest.raises(ValueError, match="more free parameters"):
        jaxmle.lr_test(logit_full, logit_full)


def test_lr_different_nobs_raises(logit_full):
    half = {k: v[: N // 2] for k, v in LOGIT.items()}
    small = jaxmle.maximize(logit_loglik, BETA0, half, fixed=FIX_23)
    with pytest.raises(ValueError, match=r"different numbers of observations \(restricted nobs=200, full nobs=400\)"):
        jaxmle.lr_test(small, logit_full)


def test_lr_different_weights_raises(logit_full):
    weighted = jaxmle.maximize(logit_loglik, BETA0, LOGIT, fixed=FIX_23, weights=np.full(N, 2.0))
    with pytest.raises(ValueError, match=r"different frequency weights \(restricted wnobs=800, full wnobs=400\)"):
        jaxmle.lr_test(weighted, logit_full)


def test_lr_test_of_robust_fits_warns_that_it_is_model_based(logit_restr, logit_full, logit_full_robust):
    with pytest.warns(jaxmle.JaxmleWarning, match="model-based"):
        robust = jaxmle.lr_test(logit_restr, logit_full_robust)
    assert robust.statistic == jaxmle.lr_test(logit_restr, logit_full).statistic  # (the same statistic)


def test_lr_boundary_is_the_chibar2_mixture():
    # Poisson against NB2 (alpha -> 0 is the Poisson): under the null LR ~ chibar2(01), the 50:50
    # mixture of chi2(0) and chi2(1) (Self and Liang 1987), so p = P(chi2_1 > LR) / 2
    data = {"X": X[:, :2], "y": Y_COUNT}
    poisson = jaxmle.maximize(poisson_loglik, {"beta": jnp.zeros(2)}, data)
    nb2 = jaxmle.models.fit(jaxmle.models.negative_binomial(), data)
    naive = jaxmle.lr_test(poisson, nb2)
    corrected = jaxmle.lr_test(poisson, nb2, boundary=True)
    assert corrected.statistic == naive.statistic and corrected.df == 1 and "chibar2" in corrected.name
    assert_allclose(corrected.pvalue, 0.5 * stats.chi2.sf(naive.statistic, 1), rtol=1e-10)
    with pytest.raises(ValueError, match="boundary=True .* df=2"):
        jaxmle.lr_test(poisson, jaxmle.maximize(poisson_loglik, BETA0, COUNT), boundary=True)


def test_score_test_of_a_cluster_fit_is_the_cluster_test(count_restr, count_parts):
    # the default follows the restricted fit's cov_type; the cluster form is the robust one with the
    # cluster sums of the scores in the meat, times G/(G-1) (NumPy reference from statsmodels' scores)
    groups = np.arange(Y_COUNT.size) // 10
    clustered = jaxmle.maximize(poisson_loglik, BETA0, COUNT, fixed=FIX_23, cov_type="cluster", cluster=groups)
    with pytest.raises(ValueError, match="pass the fit's cluster= labels"):
        jaxmle.score_test(poisson_loglik, clustered, COUNT)
    out = jaxmle.score_test(poisson_loglik, clustered, COUNT, cluster=groups)
    assert out.name == "Score test (cluster)" and out.df == 2
    score_obs, hessian = count_parts
    n_groups = groups.max() + 1
    sums = np.array([score_obs[groups == g].sum(0) for g in range(n_groups)])
    tested = np.array(count_restr.fixed)
    a_info, a, b = -hessian, ~tested, tested
    C = np.zeros((2, 4))
    C[:, a] = -a_info[np.ix_(b, a)] @ np.linalg.inv(a_info[np.ix_(a, a)])
    C[:, b] = np.eye(2)
    s_eff = C @ score_obs.sum(0)
    meat = sums.T @ sums * n_groups / (n_groups - 1)
    assert_allclose(out.statistic, s_eff @ np.linalg.solve(C @ meat @ C.T, s_eff), rtol=1e-8)
    plain = jaxmle.score_test(poisson_loglik, clustered, COUNT, cluster=groups, cluster_correction=False)
    assert_allclose(plain.statistic, out.statistic * n_groups / (n_groups - 1), rtol=1e-12)
    # the robust form on request; labels only with the cluster form
    assert jaxmle.score_test(poisson_loglik, clustered, COUNT, cov_type="robust").name == "Score test (robust)"
    with pytest.raises(ValueError, match="cluster labels were given but cov_type='robust'"):
        jaxmle.score_test(poisson_loglik, clustered, COUNT, cov_type="robust", cluster=groups)


def test_lr_map_fit_raises(logit_full):
    penalised = jaxmle.maximize(logit_loglik, BETA0, LOGIT, fixed=FIX_23,
                                log_prior=lambda p: -0.5 * jnp.sum(p["beta"] ** 2))
    with pytest.raises(ValueError, match="restricted fit is a MAP"):
        jaxmle.lr_test(penalised, logit_full)


def test_wald_on_a_map_fit_warns_but_computes():
    penalised = jaxmle.maximize(logit_loglik, BETA0, LOGIT, log_prior=lambda p: -0.5 * jnp.sum(p["beta"] ** 2))
    with pytest.warns(jaxmle.JaxmleWarning, match="wald_test on a MAP"):
        test = jaxmle.wald_test(penalised, {"beta[1]": 0})
    z = penalised.params["beta"][1] / penalised.stderr["beta"][1]
    np.testing.assert_allclose(test.statistic, z**2, rtol=1e-10)


@pytest.mark.parametrize(
    "R, q, match",
    [
        (np.eye(3), None, r"R has shape \(3, 3\), expected \(r, 4\) or \(4,\)"),
        (R2, [1.0, 2.0, 3.0], r"q has shape \(3,\), expected \(2,\)"),
        (np.zeros((1, 4)), None, "all zero"),
        ([[0, 1, 0, 0], [0, 2, 0, 0]], None, "singular"),
        ("beta[1] = 0", [1.0], "q is only used with a matrix R"),
        ("beta[9] = 0", None, r"unknown parameter 'beta\[9\]'"),
    ],
)
def test_wald_bad_hypotheses_raise(logit_full, R, q, match):
    with pytest.raises(ValueError, match=match):
        jaxmle.wald_test(logit_full, R, q)


def test_wald_on_fixed_parameter_raises(logit_restr):
    with pytest.raises(ValueError, match=r"fixed parameter\(s\) beta\[2\]"):
        jaxmle.wald_test(logit_restr, "beta[2] = 0")


def test_wald_nan_covariance_raises():
    res = jaxmle.maximize(logit_loglik, BETA0, LOGIT, cov_type="none")
    with pytest.raises(ValueError, match=r"covariance of beta\[1\] is NaN \(the fit has cov_type='none'\)"):
        jaxmle.wald_test(res, "beta[1] = 0")


def test_score_nothing_fixed_raises(logit_full):
    with pytest.raises(ValueError, match="nothing is fixed"):
        jaxmle.score_test(logit_loglik, logit_full, LOGIT)


def test_score_robust_with_scalar_loglik_raises(count_restr):
    with pytest.raises(ValueError, match="per-observation contributions"):
        jaxmle.score_test(poisson_total, count_restr, COUNT, cov_type="robust")


def test_score_unknown_cov_type_raises(count_restr):
    with pytest.raises(ValueError, match="unknown cov_type 'hc1'"):
        jaxmle.score_test(poisson_loglik, count_restr, COUNT, cov_type="hc1")


def test_score_wrong_data_length_raises(count_restr):
    with pytest.raises(ValueError, match="data has 200 observations but the restricted fit had nobs=400"):
        jaxmle.score_test(poisson_loglik, count_restr, {k: v[:200] for k, v in COUNT.items()})
