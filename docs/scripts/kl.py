"""MLE minimises KL: the empirical cross-entropy, and the KL projection a misspecified fit tends to.

Source of docs/guide/kl.md (run: python docs/scripts/kl.py).
"""

import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PAGE = "guide/kl.md"
QUOTED = {
    "n_counts": "200", "rate_hat": "3.095", "nll_hat": "2.524", "entropy": "2.210", "kl_hat": "0.314",
    "k_star": "1.138", "c_star": "1.449", "k_mm": "0.582", "kl_star": "0.076", "var_star": "2.39", "var_x": "4.67",
    "n_fits": "200", "k_100": "1.179", "k_6400": "1.140", "rms_100": "0.403", "rms_6400": "0.053",
}
IMG = pathlib.Path(__file__).resolve().parents[1] / "img"


def main(img_dir=None):
    img_dir = pathlib.Path(img_dir or IMG)
    # --8<-- [start:fit]
    import jax
    import jaxmle
    from jax.scipy import stats
    from scipy import stats as sstats

    x = np.random.default_rng(3).negative_binomial(2, 0.4, size=200)  # 200 counts (mean 3, overdispersed)

    def poisson_loglik(params, data):
        return stats.poisson.logpmf(data["x"], params["rate"])

    res = jaxmle.maximize(poisson_loglik, {"rate": 1.0}, {"x": x}, constraints={"rate": "positive"}, cov_type="none")
    rate_hat = res.params["rate"]
    print(f"rate-hat = {rate_hat:.4f} (the sample mean: {x.mean():.4f}); average NLL -loglik / n = {-res.loglik / x.size:.6f}")
    # --8<-- [end:fit]
    assert res.converged
    np.testing.assert_allclose(rate_hat, x.mean(), rtol=1e-10)

    # --8<-- [start:cross_entropy]
    values, counts = np.unique(x, return_counts=True)
    p_hat = counts / x.size  # the empirical distribution: mass count / n on each observed value
    entropy = -np.sum(p_hat * np.log(p_hat))  # H(p_hat)

    def cross_entropy(rate):  # H(p_hat, p_rate) = -sum_v p_hat(v) log p_rate(v)
        return -np.sum(p_hat * sstats.poisson.logpmf(values, rate))

    def kl(rate):  # KL(p_hat || p_rate) = sum_v p_hat(v) log(p_hat(v) / p_rate(v))
        return np.sum(p_hat * (np.log(p_hat) - sstats.poisson.logpmf(values, rate)))

    print(f"entropy of the empirical distribution H(p_hat) = {entropy:.6f}")
    print(f"{'rate':<16}{'avg NLL':>10}{'H(p_hat, p)':>13}{'KL(p_hat||p)':>14}{'H + KL':>10}")
    for label, rate in (("MLE", rate_hat), ("MLE x 0.8", 0.8 * rate_hat), ("MLE x 0.95", 0.95 * rate_hat),
                        ("MLE x 1.05", 1.05 * rate_hat), ("MLE x 1.25", 1.25 * rate_hat)):
        nll = -np.mean(sstats.poisson.logpmf(x, rate))  # the average over the 200 observations
        print(f"{label:<16}{nll:>10.6f}{cross_entropy(rate):>13.6f}{kl(rate):>14.6f}{entropy + kl(rate):>10.6f}")
    # --8<-- [end:cross_entropy]
    nll_hat = -res.loglik / x.size
    np.testing.assert_allclose(cross_entropy(rate_hat), nll_hat, rtol=1e-12)
    rates = rate_hat * np.linspace(0.5, 1.5, 201)  # the MLE minimises the cross-entropy (and KL) on a fine grid
    curve = np.array([cross_entropy(rate) for rate in rates])
    assert curve.argmin() == 100 and np.all(curve >= nll_hat - 1e-12)
    for rate in rates[::20]:
        np.testing.assert_allclose(entropy + kl(rate), cross_entropy(rate), rtol=1e-12)
        np.testing.assert_allclose(cross_entropy(rate), -np.mean(sstats.poisson.logpmf(x, rate)), rtol=1e-12)
    assert kl(rate_hat) > 0  # no Poisson pmf reproduces the empirical distribution
    _cross_entropy_figure(img_dir / "kl_cross_entropy.png", rates, curve, entropy, rate_hat)

    # --8<-- [start:projection]
    from scipy import integrate, optimize, special

    s = 1.0  # the data: lognormal, log X ~ N(0, s^2)
    mean_x, mean_log_x, var_x = math.exp(s**2 / 2), 0.0, math.exp(s**2) * (math.exp(s**2) - 1)
    # The model: gamma(shape k, scale c), log f = (k - 1) log x - x / c - k log c - log Gamma(k).
    # E_g[log f] is maximised where the model's expected sufficient statistics (X, log X) equal the
    # data's: k c = E[X] and psi(k) + log c = E[log X], so log k - psi(k) = log E[X] - E[log X].
    k_star = optimize.brentq(lambda k: math.log(k) - special.digamma(k) - (math.log(mean_x) - mean_log_x), 1e-3, 1e3)
    c_star = mean_x / k_star
    k_mm = mean_x**2 / var_x  # matching the mean and the variance instead: another gamma

    # The same by numerical integration: minimise the cross-entropy H(g, f) = -E_g[log f(X)].
    g = sstats.lognorm(s)

    def cross_entropy_g(log_kc):
        k, c = np.exp(log_kc)
        def integrand(t):  # g(t) log f(t)
            g_t = math.exp(-math.log(t) ** 2 / (2 * s**2)) / (t * s * math.sqrt(2 * math.pi))
            return g_t * ((k - 1) * math.log(t) - t / c - k * math.log(c) - math.lgamma(k))
        return -integrate.quad(integrand, 0, np.inf)[0]

    k_num, c_num = np.exp(optimize.minimize(cross_entropy_g, [0.0, 0.0], method="Nelder-Mead",
                                            options={"xatol": 1e-8, "fatol": 1e-12}).x)
    kl_star = cross_entropy_g(np.log([k_star, c_star])) - g.entropy()  # KL(g || f*) = H(g, f*) - H(g)
    print(f"KL projection:        k* = {k_star:.4f}, c* = {c_star:.4f}, KL(g || f*) = {kl_star:.4f}")
    print(f"numerical integration: k = {k_num:.4f}, c = {c_num:.4f}")
    print(f"moment matching:       k = {k_mm:.4f}, c = {mean_x / k_mm:.4f}")
    # --8<-- [end:projection]
    np.testing.assert_allclose([k_num, c_num], [k_star, c_star], rtol=1e-5)
    np.testing.assert_allclose(g.entropy(), 0.5 * math.log(2 * math.pi * math.e * s**2), rtol=1e-12)  # mu = 0
    assert kl_star > 0 and cross_entropy_g(np.log([k_mm, mean_x / k_mm])) - g.entropy() > kl_star

    # --8<-- [start:batch]
    def gamma_loglik(params, data):
        return stats.gamma.logpdf(data["x"], params["k"], scale=params["c"])

    sizes, n_reps = np.array([100, 400, 1600, 6400]), 50
    samples = np.exp(s * np.random.default_rng(1).standard_normal((n_reps, sizes.max())))  # 50 lognormal samples of 6400
    weights = (np.arange(sizes.max()) < sizes[:, None]).astype(float)  # 0/1: the first n of each sample
    solve = jaxmle.make_solver(gamma_loglik, {"k": 1.0, "c": 1.0}, constraints={"k": "positive", "c": "positive"})
    fit = jax.vmap(jax.vmap(solve, in_axes=(None, 0, None)), in_axes=(None, None, 0))  # sizes x samples
    with jax.enable_x64(True):
        sols = fit({"k": 1.0, "c": 1.0}, {"x": samples}, weights)
    k_hat, c_hat = np.asarray(sols.params["k"]), np.asarray(sols.params["c"])  # shape (4, 50)
    rms = np.sqrt(np.mean((k_hat - k_star) ** 2 + (c_hat - c_star) ** 2, axis=1))
    print(f"{'n':>6}{'mean k-hat':>12}{'mean c-hat':>12}{'rms distance to (k*, c*)':>26}")
    for i, n in enumerate(sizes):
        print(f"{n:>6}{k_hat[i].mean():>12.4f}{c_hat[i].mean():>12.4f}{rms[i]:>26.4f}")
    # --8<-- [end:batch]
    assert np.all(sols.converged)
    # each fit is the gamma MLE of its first n observations: k c = mean(x), log k - psi(k) = log mean(x) - mean(log x)
    for i, n in enumerate(sizes):
        first = samples[:, :n]
        np.testing.assert_allclose(k_hat[i] * c_hat[i], first.mean(axis=1), rtol=1e-9)
        np.testing.assert_allclose(np.log(k_hat[i]) - special.digamma(k_hat[i]),
                                   np.log(first.mean(axis=1)) - np.log(first).mean(axis=1), rtol=1e-8)
    # consistency: rms shrinks like 1 / sqrt(n) (a factor 8 from n = 100 to 6400), and the
    # estimates centre on the projection, far from moment matching
    assert 5 < rms[0] / rms[-1] < 12
    se = k_hat[-1].std() / math.sqrt(n_reps)
    assert abs(k_hat[-1].mean() - k_star) < 4 * se and abs(k_hat[-1].mean() - k_mm) > 100 * se
    var_star = k_star * c_star**2  # the variance of the fitted gamma
    _projection_figure(img_dir / "kl_projection.png", sizes, k_hat, k_star, k_mm, g, (k_star, c_star), (k_mm, mean_x / k_mm))

    quoted = {"n_counts": x.size, "rate_hat": rate_hat, "nll_hat": nll_hat, "entropy": entropy,
              "kl_hat": kl(rate_hat), "k_star": k_star, "c_star": c_star, "k_mm": k_mm, "kl_star": kl_star,
              "var_star": var_star, "var_x": var_x, "n_fits": k_hat.size, "k_100": k_hat[0].mean(), "k_6400": k_hat[-1].mean(),
              "rms_100": rms[0], "rms_6400": rms[-1]}
    return {key: float(value) for key, value in quoted.items()}


def _cross_entropy_figure(path, rates, curve, entropy, rate_hat):
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    ax.plot(rates, curve, color="tab:blue", label="cross-entropy H(p_hat, p_rate) = average NLL")
    ax.axhline(entropy, color="k", lw=1, label="entropy H(p_hat), constant in the rate")
    ax.vlines(rate_hat, entropy, curve.min(), color="tab:red", lw=2, label="KL(p_hat || p_rate) at the MLE")
    ax.axvline(rate_hat, color="0.6", ls=":", lw=1)
    ax.set(xlabel="Poisson rate", ylabel="nats", title="The MLE minimises the empirical cross-entropy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _projection_figure(path, sizes, k_hat, k_star, k_mm, g, star, mm):
    from scipy import stats as sstats

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.3))
    ax = axes[0]
    jitter = np.exp(np.linspace(-0.12, 0.12, k_hat.shape[1]))
    for i, n in enumerate(sizes):
        ax.scatter(n * jitter, k_hat[i], s=6, color="tab:blue", alpha=0.5, lw=0)
    ax.plot(sizes, k_hat.mean(axis=1), "o-", color="tab:blue", label="gamma MLE (50 samples per n)")
    ax.axhline(k_star, color="k", lw=1, label="KL projection k*")
    ax.axhline(k_mm, color="tab:red", ls="--", lw=1, label="moment matching")
    ax.set(xscale="log", xlabel="n", ylabel="shape k", title="Gamma fits to lognormal data")
    ax.legend(fontsize=7)
    ax = axes[1]
    t = np.linspace(0.005, 6, 400)
    ax.plot(t, g.pdf(t), color="k", label="lognormal data g")
    ax.plot(t, sstats.gamma.pdf(t, star[0], scale=star[1]), color="tab:blue", label="KL projection (the MLE's limit)")
    ax.plot(t, sstats.gamma.pdf(t, mm[0], scale=mm[1]), color="tab:red", ls="--", label="moment-matched gamma")
    ax.set(xlabel="x", ylabel="density", ylim=(0, 1.0), title="The truth and two gamma approximations")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    print(main())
