"""hessian="batched" against hessian="columns": steady-state fit time and first-call compilation.

For a range of models (n = 50,000 unless --quick), every fit is run with both ways of computing the
Hessian, interleaved, and the estimates are checked to agree. The first call (compilation
included) of each mode is measured in a fresh process per model and mode.

    python benchmarks/bench_hessian.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402
from bench_bootstrap import logistic  # noqa: E402  (W3's log-likelihood)

MODES = ("batched", "columns")


def normal_loglik(params, d):
    from jax.scipy import stats

    return stats.norm.logpdf(d["y"], d["X"] @ params["beta"], params["sigma"])


def nb2_loglik(params, d):
    """NB2 as a user writes it with gammaln (jaxmle.models.negative_binomial is written differently)."""
    import jax.numpy as jnp
    from jax.scipy import special

    mu, r = jnp.exp(d["X"] @ params["beta"]), 1.0 / params["alpha"]
    return (special.gammaln(d["y"] + r) - special.gammaln(r) - special.gammaln(d["y"] + 1)
            + r * jnp.log(r / (r + mu)) + d["y"] * jnp.log(mu / (r + mu)))


def mixture_loglik(params, y):
    import jax.numpy as jnp
    from jax.scipy import stats

    w = params["w"]
    return jnp.logaddexp(jnp.log(w) + stats.norm.logpdf(y, params["mu1"], params["s1"]),
                         jnp.log1p(-w) + stats.norm.logpdf(y, params["mu2"], params["s2"]))


def problems(n: int):
    """(name, loglik, params0, data, constraints) of each benchmarked model: the W1 (Poisson), W2
    (Student-t) and W3 (logistic) log-likelihoods at two sizes of the design, plus NB2, normal and
    mixture models."""
    rng = np.random.default_rng(0)
    out = []
    for p in (5, 20):
        X = np.column_stack([np.ones(n), rng.standard_normal((n, p - 1))])
        eta = X @ np.full(p, 0.1)
        y_t = eta + 1.5 * rng.standard_t(4.0, n)
        y_n = eta + rng.standard_normal(n)
        y_c = rng.poisson(np.exp(eta)).astype(float)
        y_nb = rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta))).astype(float)
        y_b = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
        b0 = np.zeros(p)
        out += [
            (f"Student-t regression, p={p} + sigma, nu", C.jax_t_loglik, {"beta": b0, "sigma": 1.0, "nu": 5.0},
             {"X": X, "y": y_t}, C.W2_CONSTRAINTS),
            (f"negative binomial (NB2), p={p} + alpha", nb2_loglik, {"beta": b0, "alpha": 1.0}, {"X": X, "y": y_nb},
             {"alpha": "positive"}),
            (f"normal regression, p={p} + sigma", normal_loglik, {"beta": b0, "sigma": 1.0}, {"X": X, "y": y_n},
             {"sigma": "positive"}),
            (f"Poisson regression, p={p}", C.jax_poisson_loglik, {"beta": b0}, {"X": X, "y": y_c}, None),
            (f"logistic regression, p={p}", logistic, {"beta": b0}, {"X": X, "y": y_b}, None),
        ]
    y_m = np.r_[rng.normal(-1.0, 1.0, n // 2), rng.normal(2.0, 0.5, n - n // 2)]
    out.append(("two-normal mixture (5 scalars)", mixture_loglik,
                {"w": 0.4, "mu1": -0.5, "s1": 1.0, "mu2": 1.5, "s2": 1.0}, y_m,
                {"w": "unit_interval", "s1": "positive", "s2": "positive"}))
    return out


def fit(problem, mode):
    import jaxmle

    _, ll, p0, data, cons = problem
    return jaxmle.maximize(ll, p0, data, constraints=cons, hessian=mode)


def child(index: int, mode: str, n: int) -> None:
    import jaxmle  # noqa: F401  (imports are not timed)

    problem = problems(n)[index]
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    fit(problem, mode)
    print(json.dumps({"first_s": time.perf_counter() - t0}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n=5000, fewer repeats")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(int(args.child[0]), args.child[1], int(args.child[2]))
        return
    n, reps = (5_000, 3) if args.quick else (50_000, 7)
    import jax

    probs = problems(n)
    warnings.simplefilter("ignore")
    print(f"# Hessian modes: steady fit time and first call (n={n}, jax {jax.__version__})\n")
    print("| model | batched: steady (min) | columns: steady (min) | columns / batched | batched: first call | "
          "columns: first call | max rel diff of estimates |")
    print("|---|---|---|---|---|---|---|")
    for i, prob in enumerate(probs):
        first = {}
        for mode in MODES:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(i), mode, str(n)],
                                 capture_output=True, text=True, check=True)
            first[mode] = json.loads(out.stdout.strip().splitlines()[-1])["first_s"]
        results = {m: fit(prob, m) for m in MODES}  # compile
        times = {m: [] for m in MODES}
        for _ in range(reps):  # interleaved
            for m in MODES:
                t0 = time.perf_counter()
                fit(prob, m)
                times[m].append(time.perf_counter() - t0)
        a, b = (np.concatenate([np.ravel(np.asarray(v)) for v in jax.tree_util.tree_leaves(results[m].params)])
                for m in MODES)
        diff = np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300))
        tb, tc = min(times["batched"]), min(times["columns"])
        print(f"| {prob[0]} | {1e3 * tb:.1f} ms | {1e3 * tc:.1f} ms | {tc / tb:.2f} | {first['batched']:.2f} s | "
              f"{first['columns']:.2f} s | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
