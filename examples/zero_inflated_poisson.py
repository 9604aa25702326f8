"""A custom likelihood: zero-inflated Poisson regression, with robust SEs and a delta-method quantity.

    y_i = 0 with probability pi, else Poisson(exp(x_i' beta)).
    log p(0) = log(pi + (1 - pi) exp(-lam)),  log p(y > 0) = log(1 - pi) + Poisson log pmf.

Run: python examples/zero_inflated_poisson.py
"""

import jax.numpy as jnp
import numpy as np
from jax.scipy import stats

import jaxmle


def loglik(params, data):
    lam = jnp.exp(data["X"] @ params["beta"])
    pi = params["pi"]
    log_zero = jnp.logaddexp(jnp.log(pi), jnp.log1p(-pi) - lam)  # log-space: no underflow
    log_pos = jnp.log1p(-pi) + stats.poisson.logpmf(data["y"], lam)
    return jnp.where(data["y"] == 0, log_zero, log_pos)


def main(n: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = np.where(rng.uniform(size=n) < 0.3, 0, rng.poisson(np.exp(X @ np.array([0.5, 0.8]))))
    res = jaxmle.maximize(
        loglik, {"beta": jnp.zeros(2), "pi": 0.5}, {"X": X, "y": y},
        constraints={"pi": "unit_interval"}, cov_type="robust",
    )
    print(res.summary())
    # Invariance: the MLE of the expected count at x = 0 is (1 - pi) exp(beta0), SE by the delta method.
    print(res.transform(lambda p: {"mean_at_0": (1 - p["pi"]) * jnp.exp(p["beta"][0])}).summary())
    return res


if __name__ == "__main__":
    main()
