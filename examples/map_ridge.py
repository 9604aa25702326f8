"""MAP = MLE + log prior: a Gaussian prior on logistic-regression slopes is ridge (L2) regularisation.

With 40 observations and 8 covariates the MLE is noisy; ``jaxmle.priors.normal(1.0)`` on the
slopes (not the intercept) shrinks them, and the summary reports the Laplace covariance of the
posterior mode.

Run: python examples/map_ridge.py
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxmle
from jaxmle import priors


def logistic(params, data):
    eta = data["X"] @ params["beta"]
    return data["y"] * eta - jax.nn.softplus(eta)  # minus the binary cross-entropy


def main(seed: int = 0):
    rng = np.random.default_rng(seed)
    n, p = 40, 9
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    beta = np.r_[0.2, 1.0, -1.0, np.zeros(p - 3)]
    y = rng.binomial(1, 1 / (1 + np.exp(-X @ beta))).astype(float)
    data = {"X": X, "y": y}
    start = {"beta": jnp.zeros(p)}
    mle = jaxmle.maximize(logistic, start, data)
    prior = priors.normal(1.0, on={"beta": [False] + [True] * (p - 1)})  # the intercept is not penalised
    mapfit = jaxmle.maximize(logistic, start, data, log_prior=prior)
    print(mapfit.summary())
    shrink = np.linalg.norm(mapfit.params["beta"][1:]) / np.linalg.norm(mle.params["beta"][1:])
    print(f"\nslope norm MAP / MLE = {shrink:.3f} (the Gaussian prior shrinks toward 0)")
    return mapfit, mle


if __name__ == "__main__":
    main()
