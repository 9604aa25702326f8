"""A two-component normal mixture: multimodal, so one start is not enough. ``jaxmle.multistart``
solves 64 random starts in one vectorized call and reports the distinct optima it found.

Run: python examples/mixture_multistart.py
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import stats

import jaxmle


def mixture(params, data):
    """log(w N(x; mu0, s0) + (1 - w) N(x; mu1, s1)), computed in log space (no underflow in the tails)."""
    w, mu, sigma = params["w"], params["mu"], params["sigma"]
    return jnp.logaddexp(jnp.log(w) + stats.norm.logpdf(data, mu[0], sigma[0]),
                         jnp.log1p(-w) + stats.norm.logpdf(data, mu[1], sigma[1]))


def sampler(key, n):
    """Random starts: equal weights, means uniform on [-5, 5], unit scales."""
    return {"w": jnp.full(n, 0.5), "mu": jax.random.uniform(key, (n, 2), minval=-5, maxval=5),
            "sigma": jnp.ones((n, 2))}


def main(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-2, 0.5, 140), rng.normal(3, 1.0, 60)])
    ms = jaxmle.multistart(mixture, sampler, x, n_starts=64, key=seed,
                           constraints={"w": "unit_interval", "sigma": "positive"})
    print(ms.summary())
    return ms


if __name__ == "__main__":
    main()
