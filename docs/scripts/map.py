"""MAP as regularisation: a Gaussian prior is ridge regression, a Laplace prior gives lasso-like sparsity.

Source of docs/guide/map.md (run: python docs/scripts/map.py).
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PAGE = "guide/map.md"
QUOTED = {"n_zero": "3", "eps": "1e-7", "ols_4": "-1.43", "lasso_4": "-0.82"}
IMG = pathlib.Path(__file__).resolve().parents[1] / "img"


def main(img_dir=None):
    img_dir = pathlib.Path(img_dir or IMG)
    # --8<-- [start:data]
    import jax.numpy as jnp
    import jaxmle
    from jax.scipy import stats
    from jaxmle import priors

    rng = np.random.default_rng(3)
    n, p = 30, 8
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    beta_true = np.array([1.0, 2.0, 0.0, 0.0, -1.5, 0.0, 0.5, 0.0])
    y = X @ beta_true + rng.normal(size=n)  # noise sd sigma = 1, known
    data = {"X": X, "y": y}

    def loglik(params, data):
        return stats.norm.logpdf(data["y"], data["X"] @ params["beta"], 1.0)

    params0 = {"beta": jnp.zeros(p)}
    slopes = {"beta": [False] + [True] * (p - 1)}  # penalise the slopes, not the intercept
    # --8<-- [end:data]

    # --8<-- [start:ridge]
    tau = 0.5  # prior sd of each slope
    ridge = jaxmle.maximize(loglik, params0, data, log_prior=priors.normal(tau, on=slopes))

    D = np.diag([0.0] + [1.0] * (p - 1))  # which coefficients the prior touches
    precision = X.T @ X + D / tau**2  # sigma = 1
    beta_ridge = np.linalg.solve(precision, X.T @ y)  # ridge regression, lambda = sigma^2 / tau^2 = 4
    print("jaxmle MAP: ", ridge.params["beta"].round(4))
    print("ridge:      ", beta_ridge.round(4))
    print("max |difference|, estimates:", np.abs(ridge.params["beta"] - beta_ridge).max())
    print("max |difference|, covariance vs (X'X + D / tau^2)^-1:", np.abs(ridge.cov - np.linalg.inv(precision)).max())
    # --8<-- [end:ridge]
    assert ridge.converged and ridge.is_map
    np.testing.assert_allclose(ridge.params["beta"], beta_ridge, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ridge.cov, np.linalg.inv(precision), rtol=0, atol=1e-12)

    # --8<-- [start:lasso]
    b = 0.1  # Laplace scale: the penalty is sum |beta_j| / b
    lasso = jaxmle.maximize(loglik, params0, data, log_prior=priors.laplace(b, on=slopes))
    beta_ols = np.linalg.lstsq(X, y, rcond=None)[0]
    print(f"{'':9}{'truth':>8}{'MLE':>9}{'ridge':>9}{'lasso':>11}")
    for j in range(p):
        print(f"beta[{j}]  {beta_true[j]:>7.2f}{beta_ols[j]:>9.3f}{ridge.params['beta'][j]:>9.3f}"
              f"{lasso.params['beta'][j]:>11.2e}")
    # --8<-- [end:lasso]

    # The exact lasso by coordinate descent (soft-thresholding) on 1/2 ||y - X beta||^2 + sum_j>0 |beta_j| / b.
    exact = beta_ols.copy()
    for _ in range(2000):
        for j in range(p):
            r_j = y - X @ exact + X[:, j] * exact[j]
            z, lam = X[:, j] @ r_j, (1.0 / b if j > 0 else 0.0)
            exact[j] = np.sign(z) * max(abs(z) - lam, 0.0) / (X[:, j] @ X[:, j])
    zero = exact == 0.0
    assert lasso.converged and zero.sum() == 3
    assert np.abs(lasso.params["beta"][zero]).max() < 1e-6 * b  # below eps, the smoothing width
    np.testing.assert_allclose(lasso.params["beta"][~zero], exact[~zero], rtol=0, atol=1e-6)
    assert np.all(np.abs(ridge.params["beta"][1:]) > 1e-3)  # ridge shrinks, but sets nothing to 0
    _figure(img_dir / "map.png", beta_true, beta_ols, ridge.params["beta"], lasso.params["beta"])
    quoted = {"n_zero": zero.sum(), "eps": 1e-6 * b, "ols_4": beta_ols[4], "lasso_4": lasso.params["beta"][4]}
    return {key: float(value) for key, value in quoted.items()}


def _figure(path, truth, ols, ridge, lasso):
    x = np.arange(truth.size)
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    for i, (values, label, color) in enumerate(((truth, "truth", "k"), (ols, "MLE (least squares)", "0.6"),
                                                 (ridge, "MAP, normal prior (ridge)", "tab:blue"),
                                                 (lasso, "MAP, Laplace prior (lasso)", "tab:orange"))):
        ax.bar(x + (i - 1.5) * 0.2, values, width=0.2, color=color, label=label)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, [f"beta[{j}]" for j in x])
    ax.set(ylabel="coefficient", title="Shrinkage by the prior (intercept beta[0] unpenalised)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    print(main())
