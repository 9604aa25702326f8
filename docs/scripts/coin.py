"""The coin: three flips H, H, T. Source of docs/guide/coin.md (run: python docs/scripts/coin.py)."""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PAGE = "guide/coin.md"
QUOTED = {
    "lik_half": "0.125", "lik_mle": "0.148", "p_hat": "0.667", "se": "0.272",
    "wald_lo": "0.133", "wald_hi": "1.200", "prof_lo": "0.161", "prof_hi": "0.977", "cutoff": "3.84",
}
IMG = pathlib.Path(__file__).resolve().parents[1] / "img"


def main(img_dir=None):
    img_dir = pathlib.Path(img_dir or IMG)
    # --8<-- [start:likelihood]
    import jax.numpy as jnp
    import jaxmle

    data = {"y": jnp.array([1.0, 1.0, 0.0])}  # heads = 1: H, H, T

    def loglik(params, data):
        """Bernoulli log-probability of each flip, shape (3,)."""
        p = params["p"]
        return data["y"] * jnp.log(p) + (1 - data["y"]) * jnp.log1p(-p)

    for p in (0.5, 2 / 3):
        print(f"L({p:.4f}) = {jnp.exp(loglik({'p': p}, data).sum()):.4f}")
    # --8<-- [end:likelihood]

    # --8<-- [start:fit]
    res = jaxmle.maximize(loglik, {"p": 0.5}, data, constraints={"p": "unit_interval"})
    print(res.summary())
    # --8<-- [end:fit]

    # --8<-- [start:profile]
    prof = jaxmle.profile(res, loglik, data, "p")
    print("Wald 95% interval:   ", res.conf_int()[0].round(4))
    print("profile 95% interval:", prof.conf_int().round(4))
    # --8<-- [end:profile]

    # The numbers the page quotes, each checked against closed forms.
    p_hat, se = float(res.params["p"]), float(res.stderr["p"])
    wald = res.conf_int()[0]
    lo, hi = prof.conf_int()
    assert res.converged and abs(p_hat - 2 / 3) < 1e-9
    assert abs(se - np.sqrt(p_hat * (1 - p_hat) / 3)) < 1e-8  # 1 / sqrt(observed information)
    assert abs(res.loglik - np.log(4 / 27)) < 1e-12
    cutoff = 1.959963984540054**2  # chi2_1(0.95)

    def deviance(p):  # 2 (l_hat - l(p)), closed form
        return 2 * (np.log(4 / 27) - (2 * np.log(p) + np.log1p(-p)))

    def bisect(a, b):  # root of deviance(p) - cutoff in [a, b]
        for _ in range(200):
            m = 0.5 * (a + b)
            a, b = (m, b) if (deviance(m) - cutoff) * (deviance(a) - cutoff) > 0 else (a, m)
        return 0.5 * (a + b)

    assert abs(lo - bisect(1e-9, p_hat)) < 1e-8 and abs(hi - bisect(p_hat, 1 - 1e-9)) < 1e-8
    assert wald[1] > 1.0 and 0.0 < lo < hi < 1.0  # the Wald interval leaves [0, 1], the profile one does not
    _figure(img_dir / "coin.png", p_hat, prof, deviance, cutoff, wald, (lo, hi))
    quoted = {
        "lik_half": 0.5**3, "lik_mle": np.exp(res.loglik), "p_hat": p_hat, "se": se,
        "wald_lo": wald[0], "wald_hi": wald[1], "prof_lo": lo, "prof_hi": hi, "cutoff": cutoff,
    }
    return {key: float(value) for key, value in quoted.items()}


def _figure(path, p_hat, prof, deviance, cutoff, wald, interval):
    p = np.linspace(0.001, 0.999, 400)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    ax1.plot(p, p**2 * (1 - p), color="tab:blue")
    ax1.plot([p_hat], [4 / 27], "o", color="k")
    ax1.annotate(r"$\hat p = 2/3$, $L = 4/27$", (p_hat, 4 / 27), xytext=(0.05, 0.135))
    ax1.axvline(0.5, color="0.6", lw=0.8, ls="--")
    ax1.set(xlabel="p", ylabel=r"$L(p) = p^2 (1-p)$", title="Likelihood of H, H, T")
    ax2.plot(p, deviance(p), color="tab:blue", label=r"$2(\hat\ell - \ell(p))$")
    ok = prof.converged
    ax2.plot(prof.grid[ok], prof.deviance[ok], "o", ms=2.5, color="tab:blue", label="jaxmle.profile grid")
    ax2.axhline(cutoff, color="tab:red", lw=0.9, ls="--", label=r"$\chi^2_1(0.95) = 3.84$")
    ax2.plot(interval, [4.8, 4.8], "-|", color="tab:red", lw=2, label="profile interval")
    ax2.plot(wald, [5.8, 5.8], "-|", color="0.4", lw=2, label="Wald interval")
    ax2.axvspan(1.0, 1.3, color="0.9")
    ax2.set(xlim=(0, 1.3), ylim=(0, 11), xlabel="p", ylabel="deviance", title="Intervals for p")
    ax2.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    print(main())
