"""Failure modes: what jaxmle reports for a non-identified model, a boundary estimate, a saddle,
overflow, a maximum at infinity (perfect separation) and an iteration limit. Source of docs/guide/failure-modes.md
(run: python docs/scripts/failure_modes.py).

The fits here are meant to go wrong, so their warnings are caught and printed, never raised.
"""

import math

import numpy as np

PAGE = "guide/failure-modes.md"
QUOTED = {"prof_lo": "0.527", "combo": "0.381", "saddle_ll": "-674.39", "max_ll": "-418.99"}


def main(img_dir=None):
    # --8<-- [start:collinear]
    import warnings

    import jax.numpy as jnp
    import jaxmle
    from jax.scipy import stats

    rng = np.random.default_rng(0)
    n = 50
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x, 2 * x])  # the third column is twice the second
    y = 1 + 0.5 * x + rng.normal(size=n)

    def gaussian_loglik(params, data):
        return stats.norm.logpdf(data["y"], data["X"] @ params["beta"], params["sigma"])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jaxmle.maximize(gaussian_loglik, {"beta": jnp.zeros(3), "sigma": 1.0}, {"X": X, "y": y},
                              constraints={"sigma": "positive"})
    for w in caught:
        print(f"{w.category.__name__}: {w.message}\n")
    print("res.unidentified:", res.unidentified)
    print("res.stderr:", res.stderr)
    slope = res.transform(lambda p: p["beta"][1] + 2 * p["beta"][2])  # estimable: finite standard error
    print(f"beta[1] + 2 beta[2] = {slope.params:.6f} (std err {slope.stderr:.6f})")
    # --8<-- [end:collinear]
    assert [w.category for w in caught] == [jaxmle.HessianWarning]
    assert res.unidentified == ("beta[1]", "beta[2]") and np.isfinite(res.stderr["sigma"])
    assert "NaN standard errors for beta[1], beta[2]" in str(res.summary())
    combo = res.params["beta"][1] + 2 * res.params["beta"][2]  # identified: the slope on x
    np.testing.assert_allclose(combo, np.polyfit(x, y, 1)[0], rtol=1e-8)
    # its standard error is the simple regression's, with the MLE of sigma: sigma / sqrt(Sxx)
    np.testing.assert_allclose(slope.stderr, res.params["sigma"] / np.sqrt(((x - x.mean()) ** 2).sum()), rtol=1e-6)

    # --8<-- [start:boundary]
    def coin_loglik(params, data):
        p = params["p"]
        return data["y"] * jnp.log(p) + (1 - data["y"]) * jnp.log1p(-p)

    heads = {"y": jnp.ones(3)}  # H, H, H
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jaxmle.maximize(coin_loglik, {"p": 0.5}, heads, constraints={"p": "unit_interval"})
        prof = jaxmle.profile(res, coin_loglik, heads, "p", grid=np.linspace(0.3, 0.999, 36))
        interval = prof.conf_int()
    for w in caught:
        print(f"{w.category.__name__}: {w.message}\n")
    print(f"p-hat = {res.params['p']:.6f}, stderr = {res.stderr['p']}, boundary: {res.boundary}")
    print("profile-likelihood interval:", interval.round(4))
    # --8<-- [end:boundary]
    assert [w.category for w in caught] == [jaxmle.BoundaryWarning, jaxmle.ProfileWarning]
    assert res.boundary == ("p",) and math.isnan(res.stderr["p"]) and np.isnan(interval[1])
    np.testing.assert_allclose(interval[0], math.exp(-1.959963984540054**2 / 6), rtol=1e-8)  # 2 * 3 log p = -3.84

    # --8<-- [start:saddle]
    from jax.scipy.special import logsumexp

    y = np.concatenate([rng.normal(-2, 1, 100), rng.normal(2, 1, 100)])  # two clusters

    def mixture_loglik(params, data):
        """Equal mixture of N(mu[0], 1) and N(mu[1], 1), computed in log space."""
        log_components = stats.norm.logpdf(data["y"][:, None], params["mu"][None, :], 1.0) + jnp.log(0.5)
        return logsumexp(log_components, axis=1)

    saddle = {"mu": jnp.full(2, y.mean())}  # both means at the overall mean: the gradient is zero
    for method in ("bfgs", "newton"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = jaxmle.maximize(mixture_loglik, saddle, {"y": y}, method=method)
        print(f"{method}: mu = {res.params['mu'].round(3)}, loglik = {res.loglik:.2f}, "
              f"min eig(scaled -H) = {res.info['information_min_eig']:.2f}, "
              f"warnings: {[w.category.__name__ for w in caught]}")
        if method == "bfgs":
            saddle_ll, saddle_caught = res.loglik, caught
    # --8<-- [end:saddle]
    assert [w.category for w in saddle_caught] == [jaxmle.HessianWarning]
    assert not caught and res.converged and abs(res.params["mu"][0] - res.params["mu"][1]) > 3
    max_ll = res.loglik

    # --8<-- [start:overflow]
    y_outlier = y.copy()
    y_outlier[0] = 40.0  # one far-away observation

    def naive_mixture_loglik(params, data):
        densities = 0.5 * stats.norm.pdf(data["y"][:, None], params["mu"][None, :], 1.0)
        return jnp.log(densities.sum(axis=1))  # exp(-0.5 * 40**2) underflows to 0, log(0) = -inf

    start = {"mu": jnp.array([-1.0, 1.0])}
    try:
        jaxmle.maximize(naive_mixture_loglik, start, {"y": y_outlier})
    except ValueError as err:
        print("ValueError:", err)
    res = jaxmle.maximize(mixture_loglik, start, {"y": y_outlier})  # the log-space version
    print(f"log space: converged = {res.converged}, mu = {res.params['mu'].round(3)}")
    # --8<-- [end:overflow]
    assert res.converged and np.all(np.isfinite(res.stderr["mu"]))

    # --8<-- [start:separation]
    import jax

    def logit_loglik(params, data):
        eta = data["X"] @ params["beta"]
        return data["y"] * eta - jax.nn.softplus(eta)

    x = np.linspace(-2, 2, 20)
    separated = {"X": np.column_stack([np.ones(20), x]), "y": (x > 0.3).astype(float)}  # y = 1 exactly when x > 0.3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jaxmle.maximize(logit_loglik, {"beta": jnp.zeros(2)}, separated)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}\n")
    print(f"converged = {res.converged}; the slope had reached {res.params['beta'][1]:.0e} when Newton stopped")
    # --8<-- [end:separation]
    assert [w.category for w in caught] == [jaxmle.ConvergenceWarning] and not res.converged
    assert "no finite maximum" in res.status and res.params["beta"][1] > 10

    # --8<-- [start:max_iter]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jaxmle.maximize(mixture_loglik, start, {"y": y}, max_iter=2)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")
    print(f"converged = {res.converged}, status = {res.status!r}, n_iter = {res.n_iter}")
    # --8<-- [end:max_iter]
    assert [w.category for w in caught] == [jaxmle.ConvergenceWarning] and not res.converged
    quoted = {"prof_lo": interval[0], "combo": combo, "saddle_ll": saddle_ll, "max_ll": max_ll}
    return {key: float(value) for key, value in quoted.items()}


if __name__ == "__main__":
    print(main())
