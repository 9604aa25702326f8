"""MLEResult: names for every pytree kind, Wald quantities, summary, to_frame, delta method."""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from statistics import NormalDist

import jaxmle

from . import zoo

DATA = zoo.draw(0)
X = DATA["normal"]


@pytest.fixture(scope="module")
def normal_fit():
    return jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, X, constraints={"sigma": "positive"})


def test_wald_quantities(normal_fit):
    res = normal_fit
    se = np.sqrt(np.diag(res.cov))
    np.testing.assert_allclose([res.stderr["mu"], res.stderr["sigma"]], se, rtol=1e-14)
    z = res.params["mu"] / res.stderr["mu"]
    np.testing.assert_allclose(res.zvalues["mu"], z, rtol=1e-14)
    np.testing.assert_allclose(res.pvalues["mu"], 2 * scipy.stats.norm.sf(abs(z)), rtol=1e-9)
    np.testing.assert_allclose(res.pvalues["sigma"], 2 * scipy.stats.norm.sf(res.zvalues["sigma"]), rtol=1e-9)
    ci = res.conf_int(0.1)
    q = NormalDist().inv_cdf(0.95)
    np.testing.assert_allclose(ci[0], [res.params["mu"] - q * se[0], res.params["mu"] + q * se[0]], rtol=1e-14)
    assert ci.shape == (2, 2)


def test_results_compare_by_identity(normal_fit):
    # dataclass equality compared NumPy fields elementwise: res == copy.deepcopy(res) raised
    import copy

    assert normal_fit == normal_fit and normal_fit != copy.deepcopy(normal_fit)
    delta = normal_fit.transform(lambda p: {"m": p["mu"]})
    assert delta == delta and delta != copy.deepcopy(delta)


def test_information_criteria(normal_fit):
    res = normal_fit
    np.testing.assert_allclose(res.aic, -2 * res.loglik + 4, rtol=1e-14)
    np.testing.assert_allclose(res.bic, -2 * res.loglik + 2 * np.log(zoo.N), rtol=1e-14)
    assert res.nobs == zoo.N and res.df_model == 2


def test_summary_and_frame(normal_fit):
    text = str(normal_fit.summary())
    for piece in ["Log-likelihood:", "No. observations:", "AIC:", "BIC:", "Method:", "newton", "Covariance:",
                  "oim", "Converged:", "True", "Iterations:", "coef", "std err", "P>|z|", "[0.025", "0.975]", "mu", "sigma"]:
        assert piece in text, piece
    frame = normal_fit.to_frame()
    assert list(frame.index) == ["mu", "sigma"]
    np.testing.assert_allclose(frame["coef"].to_numpy(), [normal_fit.params["mu"], normal_fit.params["sigma"]])
    np.testing.assert_allclose(frame[["[0.025", "0.975]"]].to_numpy(), normal_fit.conf_int())
    assert "MLEResult(mu=" in repr(normal_fit)


def test_delta_method_variance(normal_fit):
    # g(mu, sigma) = sigma^2: var(g) = (2 sigma)^2 var(sigma) = (2 sigma)^2 sigma^2 / (2n) = 2 sigma^4 / n
    out = normal_fit.transform(lambda p: {"var": p["sigma"] ** 2})
    s2 = X.var()
    np.testing.assert_allclose(out.params["var"], s2, rtol=1e-8)
    np.testing.assert_allclose(out.stderr["var"], np.sqrt(2 * s2**2 / zoo.N), rtol=1e-7)
    assert out.names == ("var",)
    assert "var" in str(out.summary())
    assert out.conf_int().shape == (1, 2)


def test_delta_method_vector_output(normal_fit):
    out = normal_fit.transform(lambda p: jnp.stack([p["mu"], p["mu"] + p["sigma"]]))
    c = normal_fit.cov
    np.testing.assert_allclose(out.cov, [[c[0, 0], c[0, 0] + c[0, 1]], [c[0, 0] + c[0, 1], c.sum()]], rtol=1e-10)
    assert out.names == ("theta[0]", "theta[1]")


class Params(NamedTuple):
    beta: jnp.ndarray
    scale: float


def normal_regression_nt(params, data):
    return zoo.normal({"mu": data["X"] @ params.beta, "sigma": params.scale}, data["y"])


def normal_regression_tuple(params, data):
    beta, log_s = params
    return zoo.normal({"mu": data["X"] @ beta, "sigma": jnp.exp(log_s)}, data["y"])


def normal_regression_matrix(theta, data):
    return zoo.normal({"mu": data["X"] @ theta[0], "sigma": jnp.exp(theta[1, 0])}, data["y"])


REG = {"X": DATA["logistic"]["X"], "y": DATA["logistic"]["X"] @ np.array([1.0, 2.0, 3.0]) + DATA["normal"]}


@pytest.mark.parametrize(
    "loglik, params0, names",
    [
        (normal_regression_nt, Params(jnp.zeros(3), 1.0), ["beta[0]", "beta[1]", "beta[2]", "scale"]),
        (normal_regression_tuple, (jnp.zeros(3), 0.0), ["theta0[0]", "theta0[1]", "theta0[2]", "theta1"]),
        (normal_regression_matrix, jnp.zeros((2, 3)), [f"theta[{i},{j}]" for i in range(2) for j in range(3)]),
    ],
)
def test_names_and_structure_for_pytree_kinds(loglik, params0, names):
    constraints = Params("real", "positive") if isinstance(params0, Params) else None
    fixed = None
    if not isinstance(params0, (Params, tuple)):
        fixed = np.array([[False] * 3, [False, True, True]])  # theta[1, 1:] are unused: hold them
    res = jaxmle.maximize(loglik, params0, REG, constraints=constraints, fixed=fixed)
    assert list(res.names) == names
    assert type(res.params) is type(params0) or isinstance(res.params, np.ndarray)
    beta = res.params.beta if isinstance(res.params, Params) else res.params[0]
    ols = np.linalg.lstsq(REG["X"], REG["y"], rcond=None)[0]
    np.testing.assert_allclose(beta, ols, rtol=1e-8)
