"""MLEs with closed forms (the theory in the seeds): estimates and oim standard errors.

Tolerance on estimates: the solver stops at relative gradient <= tol = 1e-10, which bounds the
error by about tol * |f| / (n I_1) ~ 1e-9 in these units, so estimates are checked to rtol 1e-8.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxmle

from . import zoo

DATA = zoo.draw(0)


def test_bernoulli_mean_and_se():
    x = DATA["bernoulli"]
    res = jaxmle.maximize(zoo.bernoulli, {"p": 0.5}, x, constraints={"p": "unit_interval"})
    p = x.mean()
    np.testing.assert_allclose(res.params["p"], p, rtol=1e-8)
    # I(p) = n / (p (1 - p))
    np.testing.assert_allclose(res.stderr["p"], np.sqrt(p * (1 - p) / x.size), rtol=1e-8)


def test_poisson_mean_and_se():
    x = DATA["poisson"]
    res = jaxmle.maximize(zoo.poisson, {"lam": 1.0}, x, constraints={"lam": "positive"})
    lam = x.mean()
    np.testing.assert_allclose(res.params["lam"], lam, rtol=1e-8)
    np.testing.assert_allclose(res.stderr["lam"], np.sqrt(lam / x.size), rtol=1e-8)
    np.testing.assert_allclose(res.loglik, np.sum(x * np.log(lam) - lam - _lgamma(x + 1)), rtol=1e-12)


def test_exponential_rate():
    x = DATA["exponential"]
    res = jaxmle.maximize(zoo.exponential, {"rate": 1.0}, x, constraints={"rate": "positive"})
    rate = 1 / x.mean()
    np.testing.assert_allclose(res.params["rate"], rate, rtol=1e-8)
    np.testing.assert_allclose(res.stderr["rate"], rate / np.sqrt(x.size), rtol=1e-8)


def test_normal_mean_and_biased_variance():
    x = DATA["normal"]
    res = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, x, constraints={"sigma": "positive"})
    sigma = x.std()  # the MLE divides by n, not n - 1
    np.testing.assert_allclose(res.params["mu"], x.mean(), rtol=1e-8)
    np.testing.assert_allclose(res.params["sigma"], sigma, rtol=1e-8)
    # I = diag(n / sigma^2, 2 n / sigma^2)
    np.testing.assert_allclose(res.stderr["mu"], sigma / np.sqrt(x.size), rtol=1e-8)
    np.testing.assert_allclose(res.stderr["sigma"], sigma / np.sqrt(2 * x.size), rtol=1e-8)
    # the off-diagonal is proportional to the (near-zero) score of mu: a correlation below 1e-8
    assert abs(res.cov[0, 1]) <= 1e-8 * np.sqrt(res.cov[0, 0] * res.cov[1, 1])


def test_categorical_on_the_simplex():
    x = DATA["categorical"]
    res = jaxmle.maximize(zoo.categorical, {"p": jnp.full(4, 0.25)}, x, constraints={"p": "simplex"})
    freq = np.bincount(x, minlength=4) / x.size
    np.testing.assert_allclose(res.params["p"], freq, rtol=1e-8)
    # multinomial covariance (diag(p) - p p^T) / n: singular (rows sum to 0), exactly as theory says
    np.testing.assert_allclose(res.cov, (np.diag(freq) - np.outer(freq, freq)) / x.size, atol=1e-12)
    assert res.df_model == 3
    # a float32 start on the simplex up to float32 rounding ([.1, .2, .3, .4] sums to 1 + 3e-8) is
    # accepted, as every float32 start is; one clearly off it is not
    start32 = jnp.array([0.1, 0.2, 0.3, 0.4], dtype=jnp.float32)
    assert abs(float(np.sum(np.asarray(start32, np.float64))) - 1.0) > 1e-8
    again = jaxmle.maximize(zoo.categorical, {"p": start32}, x, constraints={"p": "simplex"})
    np.testing.assert_allclose(again.params["p"], freq, rtol=1e-8)
    with pytest.raises(ValueError, match="must be positive and sum to 1"):
        jaxmle.maximize(zoo.categorical, {"p": jnp.ones(4) / 3.99}, x, constraints={"p": "simplex"})


def test_results_are_float64_without_global_x64():
    res = jaxmle.maximize(zoo.poisson, {"lam": jnp.ones(())}, DATA["poisson"], constraints={"lam": "positive"})
    assert res.params["lam"].dtype == np.float64
    assert res.cov.dtype == np.float64


def test_numpy_data_a_float32_jit_closed_over_first():
    # JAX remembers the float32 device copy of a NumPy array that a live jitted function closed
    # over (by the array's identity) and would hand it to jaxmle's float64 program: jaxmle must
    # pass its own array objects (regression: an XLA RuntimeProgramInputMismatch error).
    x, lam0 = DATA["poisson"].copy(), np.array(1.0)
    freq = np.arange(x.size, dtype=np.float64) % 3  # frequency weights 0, 1, 2
    with jax.enable_x64(False):
        peek = jax.jit(lambda: jnp.sum(freq * zoo.poisson({"lam": lam0}, x)))
        assert peek().dtype == jnp.float32
    res = jaxmle.maximize(zoo.poisson, {"lam": lam0}, x, constraints={"lam": "positive"})
    assert res.converged and res.params["lam"].dtype == np.float64
    np.testing.assert_allclose(res.params["lam"], x.mean(), rtol=1e-8)
    weighted = jaxmle.maximize(zoo.poisson, {"lam": lam0}, x, weights=freq, constraints={"lam": "positive"})
    np.testing.assert_allclose(weighted.params["lam"], np.repeat(x, freq.astype(int)).mean(), rtol=1e-8)
    assert peek is not None  # alive until here


def _lgamma(x):
    from math import lgamma

    return np.array([lgamma(v) for v in x])


@pytest.mark.parametrize("cov_type", ["oim", "opg", "robust"])
def test_correct_model_covariances_agree(cov_type):
    # For a correctly specified Poisson mean, oim, opg and sandwich all estimate lam / n; at the
    # MLE oim = lam/n exactly, opg = (sum (x - lam)^2 / lam^2)^-1: check each formula directly.
    x = DATA["poisson"]
    res = jaxmle.maximize(zoo.poisson, {"lam": 1.0}, x, constraints={"lam": "positive"}, cov_type=cov_type)
    lam, n = x.mean(), x.size
    opg = 1.0 / np.sum((x / lam - 1.0) ** 2)
    expected = {"oim": lam / n, "opg": opg, "robust": (lam / n) ** 2 / opg}[cov_type]
    np.testing.assert_allclose(res.cov[0, 0], expected, rtol=1e-8)
