"""hessian="columns" (the gradient linearized once, one Hessian column per direction) computes the
same numbers as the default forward-over-reverse "batched" mode."""

import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import stats

import jaxmle
from jaxmle import models

from . import zoo

RNG = np.random.default_rng(7)
X = np.column_stack([np.ones(zoo.N), RNG.standard_normal(zoo.N)])
T_DATA = {"X": X, "y": X @ np.array([1.0, -0.5]) + 0.8 * RNG.standard_t(5.0, zoo.N)}
P0 = {"beta": jnp.array([1.0, -0.5]), "sigma": 1.0, "nu": 5.0}
SUPPORT = {"sigma": "positive", "nu": "positive"}


def t_loglik(params, data):
    return stats.t.logpdf(data["y"], params["nu"], loc=data["X"] @ params["beta"], scale=params["sigma"])


def t_total(params, data):
    return jnp.sum(t_loglik(params, data))


def assert_same_fit(a, b):
    assert a.n_iter == b.n_iter and a.converged and b.converged
    for name in a.params:
        np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-10)
    np.testing.assert_allclose(b.cov, a.cov, rtol=1e-9)
    np.testing.assert_allclose(b.hessian, a.hessian, rtol=1e-9)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-13)


@pytest.mark.parametrize("extra", [{}, {"chunk_size": 64}], ids=["plain", "chunked"])
def test_columns_equal_batched(extra):
    batched = jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, **extra)
    columns = jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, hessian="columns", **extra)
    assert_same_fit(batched, columns)


def test_columns_with_a_scalar_loglik_and_a_gradient_method():
    batched = jaxmle.maximize(t_total, P0, T_DATA, constraints=SUPPORT, method="bfgs")
    columns = jaxmle.maximize(t_total, P0, T_DATA, constraints=SUPPORT, method="bfgs", hessian="columns")
    assert_same_fit(batched, columns)


def test_ready_made_models_choose_their_mode_and_fit_can_override_it():
    assert models.student_t().hessian == "columns"
    assert models.negative_binomial().hessian == "columns"
    assert models.logit().hessian == "batched"
    model = models.student_t()
    default = models.fit(model, T_DATA)
    assert default._config.hessian == "columns"
    assert_same_fit(models.fit(model, T_DATA, hessian="batched"), default)


def test_unknown_hessian_mode_is_named():
    with pytest.raises(ValueError, match="hessian: unknown 'column'"):
        jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, hessian="column")
