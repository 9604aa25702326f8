"""Misspecification: the KL projection, and oim vs opg vs sandwich standard errors.

Source of docs/guide/misspecification.md (run: python docs/scripts/misspecification.py).
"""

import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PAGE = "guide/misspecification.md"
QUOTED = {
    "mean_1": "1.004", "mean_2": "1.002", "mean_05": "1.010",
    "sd_1": "0.069", "oim_1": "0.071", "opg_1": "0.072", "rob_1": "0.071",
    "cov_oim_1": "95.9", "cov_opg_1": "96.0", "cov_rob_1": "95.7",
    "sd_2": "0.049", "oim_2": "0.071", "opg_2": "0.101", "rob_2": "0.050",
    "cov_oim_2": "99.7", "cov_opg_2": "100.0", "cov_rob_2": "95.7",
    "sd_05": "0.102", "oim_05": "0.071", "opg_05": "0.051", "rob_05": "0.100",
    "cov_oim_05": "84.1", "cov_opg_05": "67.4", "cov_rob_05": "94.7",
}
IMG = pathlib.Path(__file__).resolve().parents[1] / "img"


def main(img_dir=None):
    img_dir = pathlib.Path(img_dir or IMG)
    # --8<-- [start:solvers]
    import jax
    import jax.numpy as jnp
    import jaxmle

    def loglik(params, data):
        """The exponential model: log f(t) = log(lambda) - lambda t."""
        rate = params["rate"]
        return jnp.log(rate) - rate * data["t"]

    solvers = {
        cov_type: jax.jit(jax.vmap(jaxmle.make_solver(
            loglik, {"rate": 1.0}, constraints={"rate": "positive"}, cov_type=cov_type), in_axes=(None, 0)))
        for cov_type in ("oim", "opg", "robust")
    }
    # --8<-- [end:solvers]

    # --8<-- [start:simulate]
    n, n_sims, z = 200, 2000, 1.959964
    true_rate = 1.0  # every data set below has mean 1, so the KL projection is lambda* = 1 / E[t] = 1
    print(f"{'data':<24}{'mean est':>9}{'sd est':>8}  mean s.e.: {'oim':>6}{'opg':>7}{'robust':>7}"
          f"   coverage %: {'oim':>5}{'opg':>6}{'robust':>7}")
    table = {}
    with jax.enable_x64(True):
        for label, shape in (("exponential (the model)", 1.0), ("gamma, shape 2", 2.0), ("gamma, shape 0.5", 0.5)):
            t = jax.random.gamma(jax.random.key(7), shape, (n_sims, n)) / shape  # mean 1, variance 1 / shape
            row = {}
            for cov_type, solve in solvers.items():
                sols = solve({"rate": 1.0}, {"t": t})
                est, se = np.asarray(sols.params["rate"]), np.sqrt(np.asarray(sols.cov)[:, 0, 0])
                row[cov_type] = (se.mean(), 100 * np.mean(np.abs(est - true_rate) <= z * se))
            table[shape] = (est, row)
            print(f"{label:<24}{est.mean():>9.3f}{est.std():>8.3f}             "
                  + "".join(f"{row[c][0]:>{w}.3f}" for c, w in (("oim", 6), ("opg", 7), ("robust", 7)))
                  + "               " + "".join(f"{row[c][1]:>{w}.1f}" for c, w in (("oim", 5), ("opg", 6), ("robust", 7))))
    # --8<-- [end:simulate]

    quoted = {}
    for shape, key in ((1.0, "1"), (2.0, "2"), (0.5, "05")):
        est, row = table[shape]
        quoted.update({f"mean_{key}": est.mean(), f"sd_{key}": est.std(),
                       f"oim_{key}": row["oim"][0], f"opg_{key}": row["opg"][0], f"rob_{key}": row["robust"][0],
                       f"cov_oim_{key}": row["oim"][1], f"cov_opg_{key}": row["opg"][1],
                       f"cov_rob_{key}": row["robust"][1]})
        # large-sample theory: sd(lambda-hat) = sqrt(Var t / n) / E[t]^2 = 1 / sqrt(shape n); oim -> 1 / sqrt(n),
        # opg -> sqrt(shape / n), robust -> 1 / sqrt(shape n); each mean s.e. within 5% of its limit
        for cov_type, limit in (("oim", 1.0), ("opg", math.sqrt(shape)), ("robust", 1 / math.sqrt(shape))):
            assert abs(row[cov_type][0] * math.sqrt(n) / limit - 1) < 0.05, (shape, cov_type)
        assert abs(est.std() * math.sqrt(shape * n) - 1) < 0.08
        assert abs(row["robust"][1] - 95) < 1.5  # the sandwich covers under every data distribution
        assert abs(est.mean() - 1.0) < 4 * est.std() / math.sqrt(n_sims) + 0.02  # centred on the KL projection
    assert table[1.0][1]["oim"][1] > 93.5 and table[2.0][1]["oim"][1] > 98.5 and table[0.5][1]["oim"][1] < 88
    _figure(img_dir / "misspecification.png", table)
    return {key: float(value) for key, value in quoted.items()}


def _figure(path, table):
    from jax.scipy.special import digamma

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.4, 3.4))
    lam = np.linspace(0.3, 2.5, 300)
    for shape, color in ((1.0, "tab:blue"), (2.0, "tab:green"), (0.5, "tab:orange")):
        # KL(gamma(shape, rate=shape) || Exp(lam)) = -entropy(gamma) + cross-entropy, cross-entropy = lam - log(lam)
        entropy = shape - math.log(shape) + math.lgamma(shape) + (1 - shape) * float(digamma(shape))
        ax1.plot(lam, lam - np.log(lam) - entropy, color=color, label=f"true: gamma, shape {shape:g}" + (" (the model)" if shape == 1 else ""))
    ax1.axvline(1.0, color="k", lw=0.8, ls="--")
    ax1.set(xlabel=r"$\lambda$ of the exponential model", ylabel="KL(true || model)",
            title=r"Every curve is smallest at $\lambda^* = 1/E[t] = 1$")
    ax1.legend(fontsize=7)
    x = np.arange(3)
    for i, (cov_type, color) in enumerate((("oim", "0.55"), ("opg", "0.8"), ("robust", "tab:blue"))):
        cover = [table[s][1][cov_type][1] for s in (1.0, 2.0, 0.5)]
        ax2.bar(x + (i - 1) * 0.27, cover, width=0.27, color=color, edgecolor="k", lw=0.4, label=cov_type)
    ax2.axhline(95, color="tab:red", lw=0.9, ls="--")
    ax2.set_xticks(x, ["exponential\n(the model)", "gamma,\nshape 2", "gamma,\nshape 0.5"])
    ax2.set(ylim=(50, 101), ylabel="coverage of 95% Wald intervals (%)", title="Which standard errors to trust")
    ax2.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    print(main())
