"""Asymptotic normality: the sampling distribution of an MLE, simulated with one vmapped solve.

Source of docs/guide/asymptotic-normality.md (run: python docs/scripts/asymptotic_normality.py).
"""

import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PAGE = "guide/asymptotic-normality.md"
QUOTED = {
    "mean_10": "2.21", "sd_10": "0.78", "se_theory_10": "0.63", "cover_10": "95.4", "low_10": "3.9",
    "high_10": "0.8", "skew_10": "1.7", "mean_200": "2.01", "sd_200": "0.143", "se_theory_200": "0.141",
    "cover_200": "94.8", "low_200": "3.5", "high_200": "1.8", "skew_200": "0.22",
}
IMG = pathlib.Path(__file__).resolve().parents[1] / "img"


def main(img_dir=None):
    img_dir = pathlib.Path(img_dir or IMG)
    # --8<-- [start:solver]
    import jax
    import jax.numpy as jnp
    import jaxmle

    def loglik(params, data):
        """Exponential waiting times with rate lambda: log f(t) = log(lambda) - lambda t."""
        rate = params["rate"]
        return jnp.log(rate) - rate * data["t"]

    solve = jaxmle.make_solver(loglik, {"rate": 1.0}, constraints={"rate": "positive"}, cov_type="oim")
    fit_many = jax.jit(jax.vmap(solve, in_axes=(None, 0)))  # one start, a batch of data sets
    # --8<-- [end:solver]

    # --8<-- [start:simulate]
    rate, n_sims = 2.0, 2000
    results = {}
    with jax.enable_x64(True):
        for n in (10, 200):
            t = jax.random.exponential(jax.random.key(n), (n_sims, n)) / rate
            sols = fit_many({"rate": 1.0}, {"t": t})
            est = np.asarray(sols.params["rate"])
            se = np.sqrt(np.asarray(sols.cov)[:, 0, 0])  # each fit's own standard error
            too_low, too_high = est + 1.959964 * se < rate, est - 1.959964 * se > rate  # interval misses
            covered = ~(too_low | too_high)
            results[n] = est
            print(f"n = {n}: all converged: {bool(sols.converged.all())}")
            print(f"  mean {est.mean():.3f}, sd {est.std():.3f}, theory: sd sqrt(lambda^2/n) = {rate / n ** 0.5:.3f}")
            print(f"  Wald 95% intervals cover {100 * covered.mean():.1f}%; they lie below lambda in "
                  f"{100 * too_low.mean():.1f}%, above in {100 * too_high.mean():.1f}%")
            # the closed form: lambda-hat = 1 / mean(t), and its oim standard error lambda-hat / sqrt(n)
            np.testing.assert_allclose(est, 1 / np.asarray(t).mean(axis=1), rtol=1e-9)
            np.testing.assert_allclose(se, est / np.sqrt(n), rtol=1e-9)
            results[f"cover_{n}"] = 100 * covered.mean()
            results[f"low_{n}"], results[f"high_{n}"] = 100 * too_low.mean(), 100 * too_high.mean()
    # --8<-- [end:simulate]

    quoted = {}
    for n in (10, 200):
        est = results[n]
        skew = np.mean((est - est.mean()) ** 3) / est.std() ** 3
        quoted.update({f"mean_{n}": est.mean(), f"sd_{n}": est.std(), f"se_theory_{n}": rate / math.sqrt(n),
                       f"cover_{n}": results[f"cover_{n}"], f"skew_{n}": skew,
                       f"low_{n}": results[f"low_{n}"], f"high_{n}": results[f"high_{n}"]})
        # the exact mean of 1 / mean(t) is rate n / (n - 1): the simulation agrees within 3 Monte Carlo s.e.
        assert abs(est.mean() - rate * n / (n - 1)) < 3 * est.std() / math.sqrt(n_sims)
        assert abs(results[f"cover_{n}"] - 95) < 2.0
    assert quoted["skew_10"] > 1.5 and quoted["skew_200"] < 0.5  # normality arrives with n
    _figure(img_dir / "asymptotic_normality.png", results, rate)
    return {key: float(value) for key, value in quoted.items()}


def _figure(path, results, rate):
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.3))
    for ax, n in zip(axes, (10, 200)):
        est = results[n]
        sd = rate / math.sqrt(n)
        x = np.linspace(max(est.min(), 1e-3), np.quantile(est, 0.998), 400)
        ax.hist(est, bins=60, range=(x[0], x[-1]), density=True, color="0.8", edgecolor="0.55", lw=0.4,
                label="2000 simulated MLEs")
        normal = np.exp(-0.5 * ((x - rate) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        ax.plot(x, normal, color="tab:blue", label=r"$N(\lambda, I(\lambda)^{-1})$")
        # exact: lambda-hat = 1/mean(t), mean(t) ~ Gamma(n, rate n)  =>  lambda-hat ~ InvGamma(n, n rate)
        b = n * rate
        exact = np.exp(n * math.log(b) - math.lgamma(n) - (n + 1) * np.log(x) - b / x)
        ax.plot(x, exact, color="tab:red", ls="--", label="exact (inverse gamma)")
        ax.axvline(rate, color="k", lw=0.8)
        ax.set(title=f"n = {n}", xlabel=r"$\hat\lambda$")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    print(main())
