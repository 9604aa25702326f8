"""MAP as regularisation: a Gaussian prior is ridge regression, a Laplace prior gives lasso-like sparsity.

Source of docs/guide/map.md (run: python docs/scripts/map.py).
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PAGE = "guide/map.md"
QUOTED = {"n_zero": "3", "eps": "1e-7", "ols_4": "-1.43", "lasso_4": "-0.82", "n_taus": "10", "n_bs": "11",
          "b_all_zero": "0.0233"}
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

    exact = _exact_lasso(X, y, b)  # by coordinate descent, below
    zero = exact == 0.0
    assert lasso.converged and zero.sum() == 3
    assert np.abs(lasso.params["beta"][zero]).max() < 1e-6 * b  # below eps, the smoothing width
    np.testing.assert_allclose(lasso.params["beta"][~zero], exact[~zero], rtol=0, atol=1e-6)
    assert np.all(np.abs(ridge.params["beta"][1:]) > 1e-3)  # ridge shrinks, but sets nothing to 0
    _figure(img_dir / "map.png", beta_true, beta_ols, ridge.params["beta"], lasso.params["beta"])

    # --8<-- [start:path]
    import jax

    taus = np.geomspace(0.01, 10.0, 10)  # prior sd of the slopes (ridge)
    bs = np.geomspace(0.01, 1.0, 11)  # Laplace scales (lasso)
    # One solver with a unit-scale prior, vmapped over the weights tau^2 (or b): see the text.
    ridge_solve = jaxmle.make_solver(loglik, params0, log_prior=priors.normal(1.0, on=slopes))
    lasso_solve = jaxmle.make_solver(loglik, params0, log_prior=priors.laplace(1.0, on=slopes, eps=1e-6))
    with jax.enable_x64(True):
        ridge_path = jax.vmap(lambda w: ridge_solve(params0, data, w))(taus[:, None] ** 2 * np.ones(n))
        lasso_path = jax.vmap(lambda w: lasso_solve(params0, data, w))(bs[:, None] * np.ones(n))
    ridge_beta, lasso_beta = np.asarray(ridge_path.params["beta"]), np.asarray(lasso_path.params["beta"])

    closed_form = np.array([np.linalg.solve(X.T @ X + D / tau**2, X.T @ y) for tau in taus])
    print("ridge path, max |difference| from the closed form:", np.abs(ridge_beta - closed_form).max())
    exact_path = np.array([_exact_lasso(X, y, b) for b in bs])
    zeros = (np.abs(lasso_beta[:, 1:]) < 1e-4).sum(axis=1)  # numerically zero slopes
    exact_zeros = (exact_path[:, 1:] == 0.0).sum(axis=1)
    b_all_zero = 1.0 / np.abs(X[:, 1:].T @ (y - y.mean())).max()  # below it, every slope is 0 (sigma = 1)
    print(f"every slope is zero for b <= {b_all_zero:.4f}")
    print("        b  zero slopes  exact lasso  max |difference|")
    for i in range(bs.size):
        diff = np.abs(lasso_beta[i] - exact_path[i]).max()
        print(f"{bs[i]:9.4f}{zeros[i]:13d}{exact_zeros[i]:13d}{diff:18.1e}")
    # --8<-- [end:path]
    assert np.all(ridge_path.converged) and np.all(lasso_path.converged)
    np.testing.assert_allclose(ridge_beta, closed_form, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(zeros, exact_zeros)
    assert np.all(np.diff(zeros) <= 0)  # more zeros as b shrinks (bs increase)
    assert zeros[0] == p - 1 and zeros[-1] == 0
    np.testing.assert_array_equal(zeros == p - 1, bs <= b_all_zero)
    np.testing.assert_allclose(lasso_beta, exact_path, rtol=0, atol=1e-5)
    small = np.abs(lasso_beta[:, 1:])
    assert small[exact_path[:, 1:] == 0.0].max() < 1e-5 and small[exact_path[:, 1:] != 0.0].min() > 1e-3  # a clear gap
    _path_figure(img_dir / "map_path.png", taus, ridge_beta, bs, lasso_beta, beta_ols)

    quoted = {"n_zero": zero.sum(), "eps": 1e-6 * b, "ols_4": beta_ols[4], "lasso_4": lasso.params["beta"][4],
              "n_taus": taus.size, "n_bs": bs.size, "b_all_zero": b_all_zero}
    return {key: float(value) for key, value in quoted.items()}


def _exact_lasso(X, y, b, tol=1e-15):
    """The exact lasso: coordinate descent (soft-thresholding) on 1/2 ||y - X beta||^2 + sum_j>0 |beta_j| / b."""
    beta = np.zeros(X.shape[1])
    resid = y.copy()
    norms = (X**2).sum(axis=0)
    for _ in range(100_000):
        largest = 0.0
        for j in range(X.shape[1]):
            z, lam = X[:, j] @ resid + norms[j] * beta[j], (1.0 / b if j > 0 else 0.0)
            new = np.sign(z) * max(abs(z) - lam, 0.0) / norms[j]
            resid -= X[:, j] * (new - beta[j])
            largest, beta[j] = max(largest, abs(new - beta[j])), new
        if largest < tol:
            return beta
    raise RuntimeError("coordinate descent did not converge")


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


def _path_figure(path, taus, ridge, bs, lasso, ols):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, scales, coefs, title, xlabel in ((axes[0], taus, ridge, "normal prior (ridge)", "prior sd tau"),
                                              (axes[1], bs, lasso, "Laplace prior (lasso)", "Laplace scale b")):
        for j in range(1, coefs.shape[1]):
            line, = ax.plot(scales, coefs[:, j], marker=".", lw=1.2, label=f"beta[{j}]")
            ax.plot(scales[-1] * 1.6, ols[j], marker="<", color=line.get_color())
        ax.axhline(0, color="k", lw=0.6)
        ax.set(xscale="log", xlabel=xlabel, title=title)
    axes[0].set_ylabel("slope (arrows: least squares)")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    print(main())
