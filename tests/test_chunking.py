"""chunk_size: sums over observations evaluated chunk by chunk give the unchunked results."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxmle

from . import zoo

DATA = zoo.draw(0)
LOGIT = DATA["logistic"]
GROUPS = np.arange(zoo.N) % 9


@pytest.mark.parametrize("method", ["newton", "bhhh", "lbfgs"])
@pytest.mark.parametrize("cov_type", ["oim", "robust", "cluster"])
def test_chunked_equals_unchunked(method, cov_type):
    kwargs = dict(method=method, cov_type=cov_type, cluster=GROUPS if cov_type == "cluster" else None)
    full = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, **kwargs)
    chunked = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, chunk_size=64, **kwargs)  # 200 = 3*64 + 8
    np.testing.assert_allclose(chunked.params["beta"], full.params["beta"], rtol=1e-10)
    np.testing.assert_allclose(chunked.cov, full.cov, rtol=1e-10)
    np.testing.assert_allclose(chunked.loglik, full.loglik, rtol=1e-13)
    np.testing.assert_allclose(chunked.hessian, full.hessian, rtol=1e-10)


def test_chunked_with_weights_constraints_and_prior():
    w = np.linspace(0.5, 2.0, zoo.N)
    kwargs = dict(constraints={"sigma": "positive"}, weights=w, cov_type="robust",
                  log_prior=jaxmle.priors.normal(10.0))
    full = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, DATA["normal"], **kwargs)
    chunked = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, DATA["normal"], chunk_size=33, **kwargs)
    np.testing.assert_allclose(chunked.params["mu"], full.params["mu"], rtol=1e-10)
    np.testing.assert_allclose(chunked.cov, full.cov, rtol=1e-10)


def test_chunk_size_errors():
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, chunk_size=0)

    def total(params, data):
        return jnp.sum(zoo.logistic(params, data))

    with pytest.raises(ValueError, match="chunk_size evaluates per-observation contributions"):
        jaxmle.maximize(total, {"beta": jnp.zeros(3)}, LOGIT, chunk_size=50)
