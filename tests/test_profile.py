"""Profile likelihood: closed-form intervals, agreement with separate fixed fits, errors, plot.

References are closed forms (the normal mean, the exponential rate solved with scipy's brentq) and
separate ``maximize(..., fixed=...)`` fits. Fits are module fixtures: each compiled solve is paid once.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, stats

import jaxmle
from jaxmle._profile import chi2_1_quantile

from . import zoo
from .compilations import compiled_during

DATA = zoo.draw(0)
X_NORMAL = DATA["normal"]
X_EXP = DATA["exponential"]


@pytest.fixture(scope="module")
def normal_fit():
    return jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, X_NORMAL, constraints={"sigma": "positive"})


@pytest.fixture(scope="module")
def mu_profile(normal_fit):
    return jaxmle.profile(normal_fit, zoo.normal, X_NORMAL, "mu")


@pytest.fixture(scope="module")
def exp_fit():
    return jaxmle.maximize(zoo.exponential, {"rate": 1.0}, X_EXP, constraints={"rate": "positive"})


@pytest.fixture(scope="module")
def rate_profile(exp_fit):
    return jaxmle.profile(exp_fit, zoo.exponential, X_EXP, "rate")


def normal_mean_interval(x, alpha):
    """l_p(mu) = -(n/2) log(2 pi s2(mu)) - n/2 with s2(mu) = s2 + (xbar - mu)^2, so the interval
    2 (l_hat - l_p) <= c is xbar -/+ s sqrt(exp(c/n) - 1) (s2 the MLE of the variance)."""
    n, c = x.size, stats.chi2.ppf(1 - alpha, 1)
    half = math.sqrt(x.var() * math.expm1(c / n))
    return np.array([x.mean() - half, x.mean() + half])


def exponential_lr_interval(x, alpha):
    """{lam : 2 (l(lam_hat) - l(lam)) <= c} for l(lam) = n log lam - lam sum(x), by brentq."""
    n, s = x.size, x.sum()
    lam_hat = n / s
    c = stats.chi2.ppf(1 - alpha, 1)

    def d(lam):
        return 2 * ((n * math.log(lam_hat) - lam_hat * s) - (n * math.log(lam) - lam * s)) - c

    return np.array([optimize.brentq(d, lam_hat * 1e-3, lam_hat, xtol=1e-15, rtol=1e-15),
                     optimize.brentq(d, lam_hat, lam_hat * 1e3, xtol=1e-15, rtol=1e-15)])


def test_chi2_quantile_without_scipy():
    for alpha in (0.5, 0.1, 0.05, 0.01, 1e-4):
        np.testing.assert_allclose(chi2_1_quantile(alpha), stats.chi2.ppf(1 - alpha, 1), rtol=1e-12)


# ---- normal mean, sigma unknown (a nuisance parameter is re-maximised) -----------------------------
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_normal_mean_interval_closed_form(mu_profile, alpha):
    np.testing.assert_allclose(mu_profile.conf_int(alpha), normal_mean_interval(X_NORMAL, alpha), rtol=1e-6)


def test_normal_mean_profile_values_closed_form(mu_profile):
    n = X_NORMAL.size
    s2_mu = X_NORMAL.var() + (X_NORMAL.mean() - mu_profile.grid) ** 2
    expected = -0.5 * n * np.log(2 * np.pi * s2_mu) - 0.5 * n
    assert mu_profile.converged.all()
    np.testing.assert_allclose(mu_profile.loglik, expected, rtol=1e-10)
    np.testing.assert_allclose(mu_profile.params[:, 1], np.sqrt(s2_mu), rtol=1e-8)  # the nuisance maximiser


def test_grid_values_equal_separate_fixed_fits(normal_fit, mu_profile):
    for i in (0, 9, 27, 40):
        mu = float(mu_profile.grid[i])
        fit = jaxmle.maximize(zoo.normal, {"mu": mu, "sigma": 1.0}, X_NORMAL, constraints={"sigma": "positive"},
                              fixed={"mu": True})
        np.testing.assert_allclose(mu_profile.loglik[i], fit.loglik, rtol=1e-9)
        np.testing.assert_allclose(mu_profile.params[i, 1], fit.params["sigma"], rtol=1e-8)


def test_every_parameter_is_profiled_by_the_same_compiled_refits(normal_fit, mu_profile):
    # which parameter is held is an argument of the compiled refit, not part of its program: after mu's
    # profile and interval (the grid's batch and the endpoints' batch of 2), sigma's compile no refit
    mu_profile.conf_int()
    names, prof = compiled_during(lambda: jaxmle.profile(normal_fit, zoo.normal, X_NORMAL, "sigma"))
    names += compiled_during(prof.conf_int)[0]
    assert not [name for name in names if "refit_held" in name], names
    # sigma's profile: sigma^2(mu) at fixed sigma is maximised by mu = xbar, so l_p(sigma) is closed form
    n = X_NORMAL.size
    s2 = X_NORMAL.var()
    expected = -0.5 * n * np.log(2 * np.pi * prof.grid**2) - 0.5 * n * s2 / prof.grid**2
    np.testing.assert_allclose(prof.loglik, expected, rtol=1e-10)
    np.testing.assert_allclose(prof.params[:, 0], X_NORMAL.mean(), rtol=1e-9)


LOGIT = DATA["logistic"]


@pytest.mark.parametrize("method", ["newton+prior", "bhhh", "fisher", "bfgs"])
def test_held_refits_equal_separate_fixed_fits_for_every_curvature(method):
    # the held parameter's pin enters the objective like a prior term: checked against separate
    # maximize(..., fixed=...) fits for the Hessian with a user prior, the outer product of the
    # scores (BHHH), the expected information (Fisher scoring) and BFGS's updates; and the slope
    # dl/dbeta[1] the endpoint search uses against its closed form X[:, 1] . (y - p)
    kwargs = {"method": method.split("+")[0]}
    if method == "fisher":
        kwargs["expected_info"] = zoo.logistic_expected_info
    prior = jaxmle.priors.normal(1.0) if "prior" in method else None
    res = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, log_prior=prior, **kwargs)
    b1 = float(res.params["beta"][1])
    grid = np.array([b1 - 0.4, b1 + 0.3])
    prof = jaxmle.profile(res, zoo.logistic, LOGIT, "beta[1]", grid=grid)
    assert prof.converged.all()
    for i, value in enumerate(grid):
        start = np.asarray(res.params["beta"]).copy()
        start[1] = value
        ref = jaxmle.maximize(zoo.logistic, {"beta": start}, LOGIT, log_prior=prior, fixed={"beta": [False, True, False]},
                              **kwargs)
        np.testing.assert_allclose(prof.loglik[i], ref.loglik + ref.log_prior, rtol=1e-13)  # the same iterates:
        np.testing.assert_allclose(prof.params[i], ref.params["beta"], rtol=1e-12)  # equal to rounding
        assert prof.params[i, 1] == value  # held exactly
        beta = np.asarray(ref.params["beta"])
        p = 1 / (1 + np.exp(-LOGIT["X"] @ beta))
        slope = LOGIT["X"][:, 1] @ (LOGIT["y"] - p) - (beta[1] if prior else 0.0)  # N(0, 1) prior: -beta
        np.testing.assert_allclose(prof._slope[i], slope, rtol=1e-6, atol=1e-8)


def test_default_grid_spans_width_wald_errors(normal_fit, mu_profile):
    grid, est, se = mu_profile.grid, normal_fit.params["mu"], normal_fit.stderr["mu"]
    assert grid.shape == (41,) and np.all(np.diff(grid) > 0)
    np.testing.assert_allclose(grid[[0, 20, 40]], [est - 4 * se, est, est + 4 * se], rtol=1e-10)
    assert mu_profile.max_loglik == normal_fit.loglik and mu_profile.estimate == est
    np.testing.assert_allclose(mu_profile.loglik[20], normal_fit.loglik, rtol=1e-13)


# ---- exponential rate (one parameter: the profile is the likelihood itself) ------------------------
def test_exponential_rate_interval_equals_lr_interval(rate_profile):
    np.testing.assert_allclose(rate_profile.conf_int(), exponential_lr_interval(X_EXP, 0.05), rtol=1e-7)


def test_positive_parameter_grid_is_geometric_and_positive(exp_fit, rate_profile):
    grid = rate_profile.grid
    assert np.all(grid > 0)
    se_log = exp_fit.stderr["rate"] / exp_fit.params["rate"]  # delta method: s.e. of log(rate)
    np.testing.assert_allclose(np.diff(np.log(grid)), 8 * se_log / 40, rtol=1e-8)


def test_cutoff_not_crossed_gives_nan_and_warns(exp_fit):
    narrow = jaxmle.profile(exp_fit, zoo.exponential, X_EXP, "rate", width=1.0)  # +-1 s.e. < 1.96
    with pytest.warns(jaxmle.JaxmleWarning, match="does not cross"):
        ci = narrow.conf_int()
    assert np.isnan(ci).all()


def test_a_robust_fit_is_profiled_with_a_warning_and_the_observed_information(exp_fit, rate_profile):
    # a profile-likelihood interval uses the likelihood alone: the same for a robust fit, which is
    # told so; its stderr (and plot's quadratic) is the observed-information one, as the grid's
    robust = jaxmle.maximize(zoo.exponential, {"rate": 1.0}, X_EXP, constraints={"rate": "positive"},
                             cov_type="robust")
    with pytest.warns(jaxmle.JaxmleWarning, match="model-based"):
        prof = jaxmle.profile(robust, zoo.exponential, X_EXP, "rate")
    np.testing.assert_allclose(prof.stderr, exp_fit.stderr["rate"], rtol=1e-10)
    assert abs(robust.stderr["rate"] / prof.stderr - 1) > 1e-3  # (the robust one differs)
    np.testing.assert_allclose(prof.conf_int(), rate_profile.conf_int(), rtol=1e-10)


def test_user_grid(exp_fit):
    lo, hi = exponential_lr_interval(X_EXP, 0.05)
    grid = np.linspace(0.9 * lo, 1.1 * hi, 7)
    prof = jaxmle.profile(exp_fit, zoo.exponential, X_EXP, "rate", grid=grid[::-1])  # sorted on the way in
    np.testing.assert_array_equal(prof.grid, grid)
    np.testing.assert_allclose(prof.conf_int(), [lo, hi], rtol=1e-7)


# ---- display -------------------------------------------------------------------------------------
def test_plot_writes_png(mu_profile, tmp_path):
    pytest.importorskip("matplotlib")  # the optional `plot` extra
    import matplotlib.pyplot as plt

    path = tmp_path / "profile.png"
    fig = mu_profile.plot(path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig2 = mu_profile.plot(scale="loglik")
    assert fig2 is not fig
    plt.close(fig)
    plt.close(fig2)


def test_frame_and_repr(mu_profile):
    frame = mu_profile.to_frame()
    assert list(frame.columns) == ["mu", "loglik", "deviance", "converged", "sigma"]
    np.testing.assert_allclose(frame["deviance"], 2 * (mu_profile.max_loglik - mu_profile.loglik))
    text = repr(mu_profile)
    assert "mu" in text and "41 values" in text
    assert "Profile log-likelihood of mu" in str(mu_profile.summary())


# ---- errors --------------------------------------------------------------------------------------
def test_unknown_name_lists_valid_names(normal_fit):
    with pytest.raises(ValueError, match=r"'beta\[1\]' is not a parameter of res; valid names: mu, sigma"):
        jaxmle.profile(normal_fit, zoo.normal, X_NORMAL, "beta[1]")


def test_bad_arguments(normal_fit):
    with pytest.raises(ValueError, match="outside its support"):
        jaxmle.profile(normal_fit, zoo.normal, X_NORMAL, "sigma", grid=[-1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="n=100 observations but res was fitted on nobs=200"):
        jaxmle.profile(normal_fit, zoo.normal, X_NORMAL[:100], "mu")
    with pytest.raises(ValueError, match="alpha"):
        jaxmle.profile(normal_fit, zoo.normal, X_NORMAL, "mu", alpha=1.5)
    with pytest.raises(TypeError, match="MLEResult"):
        jaxmle.profile(object(), zoo.normal, X_NORMAL, "mu")


def test_fixed_parameter_cannot_be_profiled():
    fit = jaxmle.maximize(zoo.normal, {"mu": 1.5, "sigma": 1.0}, X_NORMAL, constraints={"sigma": "positive"},
                          fixed={"mu": True})  # the same compiled solve as test_grid_values_equal_separate_fixed_fits
    with pytest.raises(ValueError, match="'mu': it is fixed in res"):
        jaxmle.profile(fit, zoo.normal, X_NORMAL, "mu")


def test_simplex_element_cannot_be_profiled():
    fit = jaxmle.maximize(zoo.categorical, {"p": jnp.full(4, 0.25)}, DATA["categorical"], constraints={"p": "simplex"})
    with pytest.raises(ValueError, match=r"'p\[1\]': it is an element of a simplex"):
        jaxmle.profile(fit, zoo.categorical, DATA["categorical"], "p[1]")


# ---- MAP: the profile of the log posterior -----------------------------------------------------
def test_map_fit_profiles_the_log_posterior():
    """Exponential rate with a N(0, 2^2) prior: l(lam) + log p(lam) = n log lam - lam S - lam^2 / 8."""
    prior = jaxmle.priors.normal(2.0)
    fit = jaxmle.maximize(zoo.exponential, {"rate": 1.0}, X_EXP, constraints={"rate": "positive"}, log_prior=prior)
    prof = jaxmle.profile(fit, zoo.exponential, X_EXP, "rate")
    assert prof.is_map and "MAP" in repr(prof)
    np.testing.assert_allclose(prof.max_loglik, fit.loglik + fit.log_prior, rtol=1e-14)
    n, s = X_EXP.size, X_EXP.sum()

    def log_post(lam):
        return n * math.log(lam) - lam * s - lam**2 / 8

    lam_hat = (-s + math.sqrt(s * s + 4 * n / 4)) / (2 / 4)  # root of n/lam - s - lam/4 = 0
    np.testing.assert_allclose(fit.params["rate"], lam_hat, rtol=1e-10)
    c = stats.chi2.ppf(0.95, 1)

    def d(lam):
        return 2 * (log_post(lam_hat) - log_post(lam)) - c

    ref = [optimize.brentq(d, lam_hat / 10, lam_hat, xtol=1e-15), optimize.brentq(d, lam_hat, lam_hat * 10, xtol=1e-15)]
    np.testing.assert_allclose(prof.conf_int(), ref, rtol=1e-7)


def test_boundary_estimate_needs_an_explicit_grid():
    # 0 successes in 20 trials: p-hat = 0, on the boundary. Its standard error spans the support, so
    # the default grid would collapse onto the bound: an error asks for grid=. With a grid the
    # profile interval is the closed form {p : -2 * 20 log(1 - p) <= chi2_1(0.95)}.
    def binomial(params, data):  # (the binomial coefficient, constant in p, left out)
        return data["k"] * jnp.log(params["p"]) + (data["n"] - data["k"]) * jnp.log1p(-params["p"])

    data = {"k": np.array([0.0]), "n": np.array([20.0])}
    with pytest.warns(jaxmle.JaxmleWarning):
        res = jaxmle.maximize(binomial, {"p": 0.5}, data, constraints={"p": "unit_interval"})
    with pytest.raises(ValueError, match="pass grid= explicitly"):
        jaxmle.profile(res, binomial, data, "p")
    prof = jaxmle.profile(res, binomial, data, "p", grid=np.linspace(1e-6, 0.3, 301))
    with pytest.warns(jaxmle.ProfileWarning, match="lower endpoint is NaN"):  # the interval reaches the bound
        lower, upper = prof.conf_int()
    assert np.isnan(lower)
    np.testing.assert_allclose(upper, 1 - math.exp(-chi2_1_quantile(0.05) / 40), rtol=1e-6)


def test_a_loglik_holding_its_own_data():
    # data=None with per-observation contributions (the data closed over), as maximize allows: the
    # normal-mean profile interval, mean -/+ sqrt(chi2_1 / n) with sigma = 1
    y = jnp.array([1.0, 2.0, 4.0])

    def loglik(params, data):
        return -0.5 * (y - params["mu"]) ** 2

    res = jaxmle.maximize(loglik, {"mu": 0.0})
    half = math.sqrt(chi2_1_quantile(0.05) / 3)
    np.testing.assert_allclose(jaxmle.profile(res, loglik, None, "mu").conf_int(), [7 / 3 - half, 7 / 3 + half],
                               rtol=1e-6)
    assert jaxmle.bootstrap(loglik, res, None, n_boot=20, key=0).n_failed == 0


def test_a_renamed_fit_is_profiled_by_its_new_names(normal_fit, mu_profile):
    renamed = normal_fit.rename({"mu": "location", "sigma": "scale"})
    prof = jaxmle.profile(renamed, zoo.normal, X_NORMAL, "location")
    assert prof.name == "location" and prof.names == ("location", "scale")
    np.testing.assert_allclose(prof.loglik, mu_profile.loglik, rtol=1e-12)
    np.testing.assert_allclose(prof.conf_int(), mu_profile.conf_int(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"name: 'mu' is not a parameter of res; valid names: location, scale"):
        jaxmle.profile(renamed, zoo.normal, X_NORMAL, "mu")
