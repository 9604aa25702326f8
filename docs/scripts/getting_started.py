"""Getting started: a custom likelihood, its summary, a derived quantity and the bootstrap.

Source of docs/getting-started.md (run: python docs/scripts/getting_started.py).
"""

import pathlib

PAGE = "getting-started.md"
QUOTED = {
    "beta1": "0.311", "se_beta1": "0.048", "alpha": "0.463", "se_alpha": "0.074",
    "irr": "1.365", "se_irr": "0.065", "boot_se_beta1": "0.052", "boot_se_alpha": "0.070",
}
IMG = pathlib.Path(__file__).resolve().parents[1] / "img"


def main(img_dir=None):
    img_dir = pathlib.Path(img_dir or IMG)
    # --8<-- [start:data]
    import numpy as np

    rng = np.random.default_rng(0)
    n = 500
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, size=n)])
    mu = np.exp(X @ np.array([0.5, 0.3, -0.2]))
    y = rng.poisson(mu * rng.gamma(shape=2.0, scale=0.5, size=n))  # overdispersed: alpha = 0.5
    data = {"X": X, "y": y}
    # --8<-- [end:data]

    # --8<-- [start:loglik]
    import jax.numpy as jnp
    from jax.scipy.special import gammaln

    def loglik(params, data):
        """Negative binomial (NB2) log-probability of each count, shape (n,)."""
        mu = jnp.exp(data["X"] @ params["beta"])
        r = 1.0 / params["alpha"]  # Var(y) = mu + alpha * mu**2
        y = data["y"]
        return (gammaln(y + r) - gammaln(r) - gammaln(y + 1.0)
                + r * jnp.log(r / (r + mu)) + y * jnp.log(mu / (r + mu)))
    # --8<-- [end:loglik]

    # --8<-- [start:fit]
    import jaxmle

    params0 = {"beta": jnp.zeros(3), "alpha": 1.0}
    res = jaxmle.maximize(loglik, params0, data, constraints={"alpha": "positive"})
    print(res.summary())
    # --8<-- [end:fit]

    # --8<-- [start:fields]
    print(res.params["beta"], res.stderr["alpha"], res.names)
    print(res.conf_int()[:2])  # Wald intervals, rows in res.names order
    # --8<-- [end:fields]

    # --8<-- [start:transform]
    irr = res.transform(lambda p: {"irr": jnp.exp(p["beta"][1])})  # incidence-rate ratio
    print(irr.summary())
    # --8<-- [end:transform]

    # --8<-- [start:bootstrap]
    import jax

    boot = jaxmle.bootstrap(loglik, res, data, n_boot=200, key=jax.random.key(0))
    print(boot.summary())
    boot.plot(["alpha", "beta[1]"], wald=res, path=img_dir / "getting_started_bootstrap.png")
    # --8<-- [end:bootstrap]

    # Checks behind the numbers the page quotes.
    beta, se = res.params["beta"], res.stderr["beta"]
    assert res.converged and res.names == ("alpha", "beta[0]", "beta[1]", "beta[2]")
    assert np.all(np.abs(beta - [0.5, 0.3, -0.2]) < 3 * se)  # near the truth that made the data
    assert abs(res.params["alpha"] - 0.5) < 3 * res.stderr["alpha"]
    irr_hat, irr_se = float(irr.params["irr"]), float(irr.stderr["irr"])
    assert abs(irr_hat - np.exp(beta[1])) < 1e-12 and abs(irr_se - irr_hat * se[1]) < 1e-12  # delta method
    assert boot.n_failed == 0
    boot_se = boot.stderr
    assert abs(boot_se["beta"][1] / se[1] - 1) < 0.2 and abs(boot_se["alpha"] / res.stderr["alpha"] - 1) < 0.2
    quoted = {
        "beta1": beta[1], "se_beta1": se[1], "alpha": res.params["alpha"], "se_alpha": res.stderr["alpha"],
        "irr": irr_hat, "se_irr": irr_se, "boot_se_beta1": boot_se["beta"][1], "boot_se_alpha": boot_se["alpha"],
    }
    return {key: float(value) for key, value in quoted.items()}


if __name__ == "__main__":
    print(main())
