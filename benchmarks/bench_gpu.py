"""W1, W3 and W4 on an accelerator, float64 and float32, against the CPU competitors on its host.

Each jaxmle configuration runs in its own fresh process on JAX's default backend (the GPU where
one is installed): the first call (tracing + compilation + run) and the steady state (min and
median of repeats), the accelerator's peak memory above what was in use before the fit (JAX's
allocator statistics; not available on CPU), and the estimates and standard errors, which are
compared with the statsmodels fit timed in the same run on the host's CPU.

    python benchmarks/bench_gpu.py [--quick] [--json FILE]

Workloads as in bench_fit.py (W1: Poisson n=100,000 p=10), bench_bootstrap.py (W3: logistic
n=2000 p=5, B=1000) and bench_large.py (W4: logistic n=1,000,000 p=20, data passed as NumPy and
held on the device, unchunked and with chunk_size=100,000).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: E402
import bench_bootstrap  # noqa: E402
import bench_large  # noqa: E402

REPS = 5


def _peak_bytes():
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use"), stats.get("bytes_in_use")


def _times(fn, reps):
    out, times = None, []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def child(workload: str, dtype: str, quick: bool) -> dict:
    """One configuration in this (fresh) process: returns first-call and steady times, peak device
    memory and the estimates / standard errors (float64 lists)."""
    import jax
    import jax.numpy as jnp

    import jaxmle

    jax.block_until_ready(jnp.zeros(1) + 1)  # the runtime is up before anything is timed
    info = {"device": str(jax.devices()[0].device_kind), "backend": jax.default_backend(), "jax": jax.__version__}
    if workload == "W1":
        d = _common.w1_data(n=20_000 if quick else _common.W1_N)
        fit = lambda: jaxmle.maximize(_common.jax_poisson_loglik, {"beta": np.zeros(_common.W1_P)}, d,  # noqa: E731
                                      method="newton", dtype=dtype)
        get = lambda r: (r.params["beta"], r.stderr["beta"])  # noqa: E731
    elif workload == "W3":
        d = bench_bootstrap.data(500 if quick else bench_bootstrap.N)
        n_boot = 200 if quick else bench_bootstrap.B
        res = jaxmle.maximize(bench_bootstrap.logistic, {"beta": np.zeros(bench_bootstrap.P)}, d, dtype=dtype)
        fit = lambda: jax.block_until_ready(jaxmle.bootstrap(  # noqa: E731
            bench_bootstrap.logistic, res, d, n_boot=n_boot, key=jax.random.key(0)))
        get = lambda b: (res.params["beta"], b.stderr["beta"])  # noqa: E731
    elif workload.startswith("W4"):
        X, y = bench_large.data(100_000 if quick else bench_large.N)
        if workload in ("W4 on device", "W4 on device, chunked"):
            with jax.enable_x64(dtype == "float64"):
                X, y = jax.block_until_ready((jnp.asarray(X, dtype), jnp.asarray(y, dtype)))
        d = {"X": X, "y": y}
        chunk = 100_000 if workload.endswith("chunked") else None
        fit = lambda: jaxmle.maximize(bench_large.logistic, {"beta": np.zeros(bench_large.P)}, d,  # noqa: E731
                                      dtype=dtype, chunk_size=chunk)
        get = lambda r: (r.params["beta"], r.stderr["beta"])  # noqa: E731
    else:
        raise ValueError(workload)
    _, before = _peak_bytes()
    t0 = time.perf_counter()
    r = fit()
    first = time.perf_counter() - t0
    peak, _ = _peak_bytes()
    r, times = _times(fit, REPS)
    est, se = get(r)
    extra = {}
    if workload == "W3":
        extra = {"n_failed": int(r.n_failed), "n_polished": int(r.n_polished)}
    elif hasattr(r, "converged"):
        extra = {"converged": bool(r.converged), "n_iter": int(r.n_iter)}
    return {**info, **extra, "first": first, "min": min(times), "median": statistics.median(times),
            "peak_extra": None if peak is None else peak - before,
            "est": np.asarray(est, float).tolist(), "se": np.asarray(se, float).tolist()}


def competitors(quick: bool) -> dict:
    """statsmodels on the host CPU, timed in the same run: sm.Poisson (W1), the sm.Logit bootstrap
    loop (W3, once), sm.Logit (W4)."""
    import statsmodels.api as sm

    out = {}
    d = _common.w1_data(n=20_000 if quick else _common.W1_N)
    r, t = _times(lambda: sm.Poisson(d["y"], d["X"]).fit(disp=0), 3)
    out["W1"] = {"min": min(t), "est": np.asarray(r.params).tolist(), "se": np.asarray(r.bse).tolist()}
    d = bench_bootstrap.data(500 if quick else bench_bootstrap.N)
    est, t = bench_bootstrap.statsmodels_loop(d, 200 if quick else bench_bootstrap.B)
    out["W3"] = {"min": t, "se": est.std(axis=0, ddof=1).tolist()}
    X, y = bench_large.data(100_000 if quick else bench_large.N)
    r, t = _times(lambda: sm.Logit(y, X).fit(disp=0), 2)
    out["W4"] = {"min": min(t), "est": np.asarray(r.params).tolist(), "se": np.asarray(r.bse).tolist()}
    return out


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small n: a smoke run")
    ap.add_argument("--json", help="also write the raw numbers to this file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.quick)))
        return
    rows = {}
    for workload in ["W1", "W3", "W4", "W4 on device", "W4 on device, chunked"]:
        for dtype in ["float64", "float32"]:
            cmd = [sys.executable, __file__, "--child", workload, dtype] + (["--quick"] if args.quick else [])
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{workload} {dtype} failed:\n{out.stderr[-3000:]}", flush=True)
                continue
            rows[(workload, dtype)] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"done: {workload} {dtype}: {rows[(workload, dtype)]['min']:.4f} s", flush=True)
    ref = competitors(args.quick)
    any_row = next(iter(rows.values()), {})
    print(f"\n# jaxmle on {any_row.get('device')} (backend {any_row.get('backend')}, jax {any_row.get('jax')}); "
          f"competitors on the host CPU\n")
    print("| workload | dtype | first call | steady min / median | competitor (host CPU) | vs competitor "
          "(steady / first) | peak device memory above baseline | est rel diff | SE rel diff | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    names = {"W1": "sm.Poisson", "W3": "sm.Logit loop", "W4": "sm.Logit", "W4 on device": "sm.Logit",
             "W4 on device, chunked": "sm.Logit"}
    for (workload, dtype), r in rows.items():
        c = ref[workload.split()[0]]
        est = "-" if workload == "W3" else f"{_rel(r['est'], c['est']):.1e}"
        se = _rel(r["se"], c["se"])
        mem = "n/a" if r["peak_extra"] is None else f"{r['peak_extra'] / 2**20:.0f} MiB"
        notes = ", ".join(f"{k}={r[k]}" for k in ("converged", "n_iter", "n_failed", "n_polished") if k in r)
        print(f"| {workload} | {dtype} | {r['first']:.2f} s | {r['min']:.4f} / {r['median']:.4f} s | "
              f"{names[workload]} {c['min']:.3f} s | {c['min'] / r['min']:.1f}x / {c['min'] / r['first']:.2f}x | "
              f"{mem} | {est} | {se:.1e} | {notes} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"rows": {" ".join(k): v for k, v in rows.items()},
                                                       "competitors": ref}, indent=1))


if __name__ == "__main__":
    main()
