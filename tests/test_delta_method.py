"""The delta method on real quantities: an odds ratio and logit average marginal effects (statsmodels)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

import jaxmle

from . import zoo

DATA = zoo.draw(0)["logistic"]


@pytest.fixture(scope="module")
def fits():
    res = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, DATA)
    ref = sm.Logit(DATA["y"], DATA["X"]).fit(disp=0, tol=1e-12)
    return res, ref


def test_odds_ratio(fits):
    res, _ = fits
    odds = res.transform(lambda p: {"odds_ratio": jnp.exp(p["beta"][1])})
    b, se = res.params["beta"][1], res.stderr["beta"][1]
    # d exp(b)/db = exp(b): se(OR) = exp(b) se(b)
    np.testing.assert_allclose(odds.params["odds_ratio"], np.exp(b), rtol=1e-12)
    np.testing.assert_allclose(odds.stderr["odds_ratio"], np.exp(b) * se, rtol=1e-10)


def test_average_marginal_effects_match_statsmodels(fits):
    res, ref = fits
    X = DATA["X"]  # NumPy: transform() evaluates fn in float64

    def ame(params):
        p = jax.nn.sigmoid(X @ params["beta"])
        return {"ame": jnp.mean(p * (1 - p)) * params["beta"][1:]}

    out = res.transform(ame)
    marg = ref.get_margeff(at="overall", method="dydx")
    np.testing.assert_allclose(out.params["ame"], marg.margeff, rtol=1e-6)
    # statsmodels' margeff SEs are the delta method with the inverse-Hessian covariance
    np.testing.assert_allclose(out.stderr["ame"], marg.margeff_se, rtol=1e-5)
