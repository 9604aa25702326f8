"""Losses are likelihoods: least squares, binary and categorical cross-entropy.

Source of docs/guide/losses.md (run: python docs/scripts/losses.py).
"""

import numpy as np

PAGE = "guide/losses.md"
QUOTED = {"sigma2_mle": "1.035", "sigma2_unbiased": "1.051", "bce": "0.519", "cce": "0.787"}


def main(img_dir=None):
    # --8<-- [start:optax]
    import jax
    import jax.numpy as jnp
    import optax

    def minimise_with_optax(loss, params, steps=100):
        """Minimise loss(params) with optax's L-BFGS (a plain training loop)."""
        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(loss)

        @jax.jit
        def step(params, state):
            value, grad = value_and_grad(params, state=state)
            updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
            return optax.apply_updates(params, updates), state

        state = opt.init(params)
        for _ in range(steps):
            params, state = step(params, state)
        return params
    # --8<-- [end:optax]

    # --8<-- [start:gaussian]
    import jaxmle
    from jax.scipy import stats

    rng = np.random.default_rng(1)
    n = 200
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = X @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=n)

    def gaussian_loglik(params, data):
        mu = data["X"] @ params["beta"]
        return stats.norm.logpdf(data["y"], mu, params["sigma"])

    res = jaxmle.maximize(gaussian_loglik, {"beta": jnp.zeros(3), "sigma": 1.0}, {"X": X, "y": y},
                          constraints={"sigma": "positive"})

    beta_ls, rss = np.linalg.lstsq(X, y, rcond=None)[:2]  # least squares, closed form
    with jax.enable_x64(True):
        beta_optax = np.asarray(minimise_with_optax(lambda b: jnp.mean((y - X @ b) ** 2), jnp.zeros(3)))

    print("jaxmle MLE:   ", res.params["beta"])
    print("least squares:", beta_ls)
    print("optax on MSE: ", beta_optax)
    print(f"sigma^2 MLE = {res.params['sigma'] ** 2:.4f}, RSS/n = {rss[0] / n:.4f}, "
          f"RSS/(n - p) = {rss[0] / (n - 3):.4f}")
    # --8<-- [end:gaussian]
    sigma2 = float(res.params["sigma"] ** 2)
    assert res.converged
    np.testing.assert_allclose(res.params["beta"], beta_ls, rtol=0, atol=1e-9)
    np.testing.assert_allclose(beta_optax, beta_ls, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sigma2, rss[0] / n, rtol=1e-9)

    # --8<-- [start:laplace]
    from jaxmle import models
    import statsmodels.api as sm

    y_lap = X @ np.array([1.0, 2.0, -1.0]) + np.random.default_rng(5).laplace(size=n)  # double-exponential noise
    lap = models.fit(models.laplace(), {"X": X, "y": y_lap})
    lad = sm.QuantReg(y_lap, X).fit(q=0.5).params  # least absolute deviations (median regression)
    mae = lambda b: np.mean(np.abs(y_lap - X @ b))  # noqa: E731
    print("jaxmle MLE (Laplace):    ", lap.params["beta"])
    print("median regression (LAD): ", lad)
    print(f"mean absolute error: MLE {mae(lap.params['beta']):.8f}, LAD {mae(lad):.8f}")
    # --8<-- [end:laplace]
    assert lap.converged
    np.testing.assert_allclose(lap.params["beta"], lad, rtol=0, atol=1e-4)  # the LAD optimum is a flat vertex
    assert mae(lap.params["beta"]) <= mae(lad) + 1e-8

    # --8<-- [start:logistic]
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ np.array([-0.5, 1.0, 0.5])))).astype(float)

    def logistic_loglik(params, data):
        eta = data["X"] @ params["beta"]
        return data["y"] * jax.nn.log_sigmoid(eta) + (1 - data["y"]) * jax.nn.log_sigmoid(-eta)

    res = jaxmle.maximize(logistic_loglik, {"beta": jnp.zeros(3)}, {"X": X, "y": y})

    with jax.enable_x64(True):
        bce = lambda b: optax.losses.sigmoid_binary_cross_entropy(X @ b, y).mean()  # noqa: E731
        beta_optax = np.asarray(minimise_with_optax(bce, jnp.zeros(3)))
        mean_bce = float(bce(res.params["beta"]))
        per_obs_gap = float(jnp.max(jnp.abs(
            -logistic_loglik(res.params, {"X": X, "y": y})
            - optax.losses.sigmoid_binary_cross_entropy(X @ res.params["beta"], y))))

    print("jaxmle MLE:     ", res.params["beta"])
    print("optax on BCE:   ", beta_optax)
    print(f"-loglik / n = {-res.loglik / n:.6f}, mean BCE = {mean_bce:.6f}")
    print(f"largest per-observation |(-loglik_i) - BCE_i| = {per_obs_gap:.1e}")
    # --8<-- [end:logistic]
    assert res.converged and per_obs_gap < 1e-12 and abs(mean_bce + res.loglik / n) < 1e-12
    np.testing.assert_allclose(beta_optax, res.params["beta"], rtol=0, atol=1e-6)

    # --8<-- [start:multinomial]
    K = 3  # classes 0, 1, 2; class 0 is the reference (its logit is 0)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    true_logits = np.column_stack([np.zeros(n), X @ np.array([[0.5, -0.5], [1.0, -1.0]])])
    y = np.array([rng.choice(K, p=np.exp(l) / np.exp(l).sum()) for l in true_logits])

    def logits_of(beta, X):
        return jnp.concatenate([jnp.zeros((X.shape[0], 1)), X @ beta], axis=1)  # (n, K)

    def multinomial_loglik(params, data):
        logp = jax.nn.log_softmax(logits_of(params["beta"], data["X"]), axis=1)
        return jnp.take_along_axis(logp, data["y"][:, None], axis=1)[:, 0]

    res = jaxmle.maximize(multinomial_loglik, {"beta": jnp.zeros((2, K - 1))}, {"X": X, "y": y})

    with jax.enable_x64(True):
        cce = lambda b: optax.losses.softmax_cross_entropy_with_integer_labels(logits_of(b, X), y).mean()  # noqa: E731
        beta_optax = np.asarray(minimise_with_optax(cce, jnp.zeros((2, K - 1))))
        mean_cce = float(cce(res.params["beta"]))

    print("jaxmle MLE:\n", res.params["beta"])
    print("optax on categorical cross-entropy:\n", beta_optax)
    print(f"-loglik / n = {-res.loglik / n:.6f}, mean cross-entropy = {mean_cce:.6f}")
    # --8<-- [end:multinomial]
    assert res.converged and abs(mean_cce + res.loglik / n) < 1e-12
    np.testing.assert_allclose(beta_optax, res.params["beta"], rtol=0, atol=1e-6)
    quoted = {"sigma2_mle": sigma2, "sigma2_unbiased": rss[0] / (n - 3), "bce": mean_bce, "cce": mean_cce}
    return {key: float(value) for key, value in quoted.items()}


if __name__ == "__main__":
    print(main())
