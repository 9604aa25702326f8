"""A zoo of models with known maximum-likelihood estimates (closed forms), shared by the tests.

Log-likelihoods are module-level functions so compiled solves are shared between tests.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import stats

N = 200  # one n for the whole zoo: shapes, hence compilations, are shared


def bernoulli(params, data):
    return stats.bernoulli.logpmf(data, params["p"])


def poisson(params, data):
    return stats.poisson.logpmf(data, params["lam"])


def exponential(params, data):
    return stats.expon.logpdf(data, scale=1.0 / params["rate"])


def normal(params, data):
    return stats.norm.logpdf(data, params["mu"], params["sigma"])


def categorical(params, data):
    """data: integer category codes (n,); params["p"]: probabilities on the simplex."""
    return jnp.log(params["p"])[data]


def logistic(params, data):
    """Bernoulli with logit link = binary cross-entropy; data = {"X": (n, k), "y": (n,)}."""
    eta = data["X"] @ params["beta"]
    return data["y"] * jax.nn.log_sigmoid(eta) + (1 - data["y"]) * jax.nn.log_sigmoid(-eta)


def logistic_expected_info(params, data, weights=None):
    """X^T diag(w p (1-p)) X for the flat params (beta only)."""
    p = jax.nn.sigmoid(data["X"] @ params["beta"])
    w = p * (1 - p) if weights is None else weights * p * (1 - p)
    return data["X"].T @ (w[:, None] * data["X"])


def draw(seed=0):
    """Data sets of the zoo, n = N each."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(N), rng.normal(size=(N, 2))])
    eta = x @ np.array([-0.3, 0.8, -0.5])
    return {
        "bernoulli": rng.binomial(1, 0.3, size=N).astype(float),
        "poisson": rng.poisson(3.5, size=N).astype(float),
        "exponential": rng.exponential(2.0, size=N),
        "normal": rng.normal(1.5, 2.0, size=N),
        "categorical": rng.choice(4, size=N, p=[0.1, 0.2, 0.3, 0.4]),
        "logistic": {"X": x, "y": rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)},
    }
