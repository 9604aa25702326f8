"""maximize_stream: Newton over data streamed in chunks equals the in-memory fit."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxmle

from . import zoo

DATA = zoo.draw(0)
LOGIT = DATA["logistic"]


def chunks_of(data, size):
    n = data["y"].shape[0]
    return lambda: ({k: v[i:i + size] for k, v in data.items()} for i in range(0, n, size))


@pytest.mark.parametrize("cov_type", ["oim", "opg", "robust"])
def test_streamed_newton_equals_in_memory_fit(cov_type):
    full = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, cov_type=cov_type)
    streamed = jaxmle.maximize_stream(zoo.logistic, {"beta": jnp.zeros(3)}, chunks_of(LOGIT, 50), cov_type=cov_type)
    assert streamed.converged and streamed.nobs == zoo.N
    np.testing.assert_allclose(streamed.params["beta"], full.params["beta"], rtol=1e-10)
    np.testing.assert_allclose(streamed.cov, full.cov, rtol=1e-9)
    np.testing.assert_allclose(streamed.loglik, full.loglik, rtol=1e-13)
    np.testing.assert_allclose(streamed.hessian, full.hessian, rtol=1e-9)


def test_streamed_with_constraints_and_prior():
    x = DATA["normal"]
    kwargs = dict(constraints={"sigma": "positive"}, log_prior=jaxmle.priors.normal(5.0))
    full = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, x, **kwargs)
    streamed = jaxmle.maximize_stream(zoo.normal, {"mu": 0.0, "sigma": 1.0},
                                      lambda: (x[i:i + 40] for i in range(0, x.size, 40)), **kwargs)
    np.testing.assert_allclose([streamed.params["mu"], streamed.params["sigma"]],
                               [full.params["mu"], full.params["sigma"]], rtol=1e-10)
    np.testing.assert_allclose(streamed.cov, full.cov, rtol=1e-9)
    assert streamed.is_map


def test_stream_errors():
    with pytest.raises(TypeError, match="chunks must be a function"):
        jaxmle.maximize_stream(zoo.logistic, {"beta": jnp.zeros(3)}, [LOGIT])
    with pytest.raises(ValueError, match="yielded no data"):
        jaxmle.maximize_stream(zoo.logistic, {"beta": jnp.zeros(3)}, lambda: iter(()))
