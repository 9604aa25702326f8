"""The delta method on real quantities: an odds ratio and logit average marginal effects (statsmodels)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

import jaxmle

from . import zoo
from .compilations import compiled_during

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


def test_function_of_fixed_parameters_has_no_standard_error():
    # A held-fixed parameter has NaN stderr (it is not estimated); so has any function of fixed
    # parameters alone, rather than a zero that would make z infinite and p = 0.
    res = jaxmle.maximize(zoo.logistic, {"beta": jnp.array([0.0, 0.0, -0.5])}, DATA, fixed={"beta": [False, False, True]})
    out = res.transform(lambda p: {"fixed_only": 2 * p["beta"][2], "mixed": p["beta"][1] + p["beta"][2]})
    assert np.isnan(res.stderr["beta"][2]) and np.isnan(out.stderr["fixed_only"]) and np.isnan(out.zvalues["fixed_only"])
    np.testing.assert_allclose(out.stderr["mixed"], res.stderr["beta"][1], rtol=1e-12)
    with pytest.raises(ValueError, match="fn returned no arrays"):
        res.transform(lambda p: {})
    with pytest.raises(TypeError, match=r"transform: fn\(params\) failed: .*unsupported operand"):
        res.transform(lambda p: {"bad": p["beta"] + "text"})
    for show in (res.summary, res.to_frame, out.summary, res.conf_int):
        with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\), got 1.5"):
            show(alpha=1.5)


def test_a_numpy_function_is_refused_naming_transform():
    res = jaxmle.maximize(lambda p, x: -0.5 * (x - p["mu"]) ** 2, {"mu": 0.0}, np.arange(5.0))
    with pytest.raises(TypeError, match="transform: fn must be written with jax.numpy"):
        res.transform(lambda p: np.exp(p["mu"]))


def test_transform_compiles_one_program(fits):
    # The value and the Jacobian are one compiled program. Evaluated op by op, every primitive of fn
    # and of its Jacobian compiled a program of its own (29 for the demo's variance of a t, 0.9 s).
    res, _ = fits
    # primitives (atan2, cosh, a cube) that no other test's transform uses
    compiled, out = compiled_during(
        lambda: res.transform(lambda p: {"g": jnp.arctan2(p["beta"][1], jnp.cosh(p["beta"][2])) * p["beta"][0] ** 3}))
    assert len(compiled) == 1, compiled
    b = res.params["beta"]
    np.testing.assert_allclose(out.params["g"], np.arctan2(b[1], np.cosh(b[2])) * b[0] ** 3, rtol=1e-13)
    # the Jacobian against central differences

    def g(v):
        return np.arctan2(v[1], np.cosh(v[2])) * v[0] ** 3

    h = 1e-6
    jac = np.array([(g(b + h * e) - g(b - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(out.stderr["g"], np.sqrt(jac @ res.cov @ jac), rtol=1e-6)
