"""Fit + covariance benchmark: jaxmle against statsmodels and scipy.

    python benchmarks/bench_fit.py            # full run (a few minutes on a 2-core CPU)
    python benchmarks/bench_fit.py --quick    # smoke run with small n (well under a minute)
    python benchmarks/bench_fit.py --json out.json   # also write the raw numbers

Workloads (fixed seeds, float64):

* W1  Poisson regression, n=100,000, p=10 (intercept + 9 N(0,1) covariates, true beta = 0.1);
      fit + OIM covariance.
* W2  Student-t regression with unknown scale and degrees of freedom, n=50,000, p=5
      (+ sigma, nu, both "positive" in jaxmle); fit + OIM covariance.

Competitors are timed in the same process, interleaved round by round with the jaxmle fits (so a
burst of load from elsewhere hits all of them alike). Each timing covers the whole fit *and* the
standard errors (``res.bse`` is read inside the timed region). Repeats (the ``reps`` column): 15 for
jaxmle and sm.Poisson, 3 for the slow competitors (statsmodels with numerical derivatives, scipy
with finite differences: seconds per fit), 3 fresh processes for the first call; --quick uses fewer.
On a machine shared with other jobs, ``--wait-idle S`` waits (up to S s) for an idle CPU before
each timed call; the report states how much CPU other processes used during the run.

The jaxmle first call (tracing + XLA compilation + the run) is measured in fresh child processes:
only the first ``maximize`` call is timed, not the interpreter start, the imports or the data
generation. Its parts come from ``jax.monitoring`` compile events. The persistent compilation
cache is measured the same way: W1's and W2's first call in fresh processes sharing a new cache
folder (``jaxmle.enable_compilation_cache``), the first writing it, the later ones loading from it.

Ratios are competitor time / jaxmle steady-state time, from the same start. "rel diff" columns are
max_j |competitor_j - jaxmle_j| / |jaxmle_j| over the estimates and the standard errors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

TARGETS = [
    # (workload, what, kind, threshold, text)
    ("W1", "statsmodels GenericLikelihoodModel newton", "ratio", 50.0, "W1: >= 50x faster than GenericLikelihoodModel newton"),
    ("W1", "statsmodels sm.Poisson (analytic)", "ratio", 2.0, "W1: >= 2x faster than sm.Poisson"),
    ("W2", "statsmodels GenericLikelihoodModel newton", "ratio", 5.0, "W2: >= 5x faster than GenericLikelihoodModel newton"),
    ("W1", "first call", "first", 1.5, "W1: first call (compile + run, fresh process) < 1.5 s"),
    ("W2", "first call", "first", 1.5, "W2: first call (compile + run, fresh process) < 1.5 s"),
    ("W1", "cache", "cache", 0.3, "W1: with the persistent cache, a later process pays < 0.3 s of compilation"),
    ("W2", "cache", "cache", 0.3, "W2: with the persistent cache, a later process pays < 0.3 s of compilation"),
]


def _busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine so far (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# --wait-idle: before each timed call, wait up to this many seconds for the machine to be idle.
IDLE = {"wait": 0.0, "calls": 0, "not_idle": 0}


def settle() -> None:
    if IDLE["wait"] > 0:
        IDLE["calls"] += 1
        if not C.wait_for_idle(IDLE["wait"]):
            IDLE["not_idle"] += 1


def _git_state() -> str:
    """HEAD commit of the benchmarked tree and whether jaxmle/ has uncommitted changes (read-only git)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "jaxmle"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in jaxmle/' if dirty else ''}" if head else "unknown"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Child process: the first maximize call in a fresh interpreter
# --------------------------------------------------------------------------------------------

def child(workload: str, n: int, cache: str | None = None) -> None:
    import jax
    from jax import monitoring

    import jaxmle  # noqa: F401  (imports are not timed)

    if cache:  # the persistent compilation cache in this folder (written by the first such process)
        jaxmle.enable_compilation_cache(cache)

    if workload == "W2s":  # as in a session that already uses scipy (statsmodels): see the report's note
        import scipy.linalg  # noqa: F401
    events = []

    def listener(event, duration, **kw):
        events.append((event, kw.get("fun_name", "?"), float(duration)))

    monitoring.register_event_duration_secs_listener(listener)
    if workload == "W1":
        data = C.w1_data(n)
        call = lambda: C.jaxmle_w1(data)  # noqa: E731
    else:  # W2; W2b: the same fit with hessian="batched" (not the one "auto" picks for it); W2s: scipy imported
        data = C.w2_data(n)
        start = C.w2_naive_start()
        hessian = "batched" if workload == "W2b" else "auto"
        call = lambda: C.jaxmle_w2(data, start, hessian)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu0 = time.process_time()
        first, res = C.timed(call)
        first_cpu = time.process_time() - cpu0
        n_first = len(events)
        second, _ = C.timed(call)

    def total(kind, only=None):  # trace events name the function "_fit", lowering/compile "jit(_fit)"
        return sum(d for e, f, d in events[:n_first]
                   if e.endswith(kind) and (only is None or f in (only, f"jit({only})")))

    out = {
        "first_s": first,
        "first_cpu_s": first_cpu,
        "second_s": second,
        "converged": bool(res.converged),
        "trace_s": total("jaxpr_trace_duration"),
        "lower_s": total("jaxpr_to_mlir_module_duration"),
        "compile_s": total("backend_compile_duration"),
        "fit_trace_s": total("jaxpr_trace_duration", "_fit"),
        "fit_lower_s": total("jaxpr_to_mlir_module_duration", "_fit"),
        "fit_compile_s": total("backend_compile_duration", "_fit"),
        "cache_load_s": total("cache_retrieval_time_sec"),
        "n_compiles": sum(1 for e, _, _ in events[:n_first] if e.endswith("backend_compile_duration")),
        "compiled_functions": sorted({f for e, f, _ in events[:n_first] if e.endswith("backend_compile_duration")}),
        "persistent_cache_dir": jax.config.jax_compilation_cache_dir,
    }
    print("CHILD_JSON " + json.dumps(out))


def first_call(workload: str, n: int, cache: str | None = None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", workload, "--n", str(n)] + (["--cache", cache] if cache else [])
    settle()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    for line in proc.stdout.splitlines():
        if line.startswith("CHILD_JSON "):
            return json.loads(line[len("CHILD_JSON "):])
    raise RuntimeError(f"first-call child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


# --------------------------------------------------------------------------------------------
# Competitors (each returns est, se, claimed convergence, loglik)
# --------------------------------------------------------------------------------------------

def _sm_result(r, extra=""):
    bse = np.asarray(r.bse, float)  # computed inside the timed region
    return {
        "est": np.asarray(r.params, float),
        "se": bse,
        "claimed": bool(r.mle_retvals.get("converged", False)),
        "llf": float(r.llf),
        "note": extra,
    }


def w1_competitors(data):
    import statsmodels.api as sm
    from scipy import optimize, special
    from statsmodels.base.model import GenericLikelihoodModel
    from statsmodels.tools.numdiff import approx_hess3

    X, y = data["X"], data["y"]
    p = X.shape[1]
    ly = special.gammaln(y + 1)

    class PoissonML(GenericLikelihoodModel):  # as a user writes it
        def loglikeobs(self, params):
            eta = self.exog @ params
            return self.endog * eta - np.exp(eta) - special.gammaln(self.endog + 1)

    def glm(method):
        def run():
            r = PoissonML(y, X).fit(start_params=np.zeros(p), method=method, disp=0)
            return _sm_result(r)
        return run

    def sm_poisson():
        return _sm_result(sm.Poisson(y, X).fit(disp=0))

    def nll(b):
        eta = X @ b
        return -np.sum(y * eta - np.exp(eta) - ly)

    def scipy_bfgs():
        o = optimize.minimize(nll, np.zeros(p), method="BFGS")  # finite-difference gradient
        cov = np.linalg.inv(approx_hess3(o.x, nll))
        return {"est": o.x, "se": np.sqrt(np.diag(cov)), "claimed": bool(o.success), "llf": -float(o.fun),
                "note": "" if o.success else f"success=False: {o.message}"}

    return [
        ("statsmodels GenericLikelihoodModel newton", glm("newton"), "slow"),
        ("statsmodels GenericLikelihoodModel bfgs", glm("bfgs"), "slow"),
        ("statsmodels sm.Poisson (analytic)", sm_poisson, "fast"),
        ("scipy BFGS (FD grad) + approx_hess3", scipy_bfgs, "slow"),
    ]


def w2_competitors(data, maxiter=None):
    from scipy import optimize, stats
    from statsmodels.base.model import GenericLikelihoodModel
    from statsmodels.tools.numdiff import approx_hess3

    X, y = data["X"], data["y"]

    class StudentTML(GenericLikelihoodModel):  # as a user writes it
        def loglikeobs(self, params):
            beta, sigma, nu = params[:-2], params[-2], params[-1]
            return stats.t.logpdf(self.endog, nu, loc=self.exog @ beta, scale=sigma)

    def glm(method):
        def run(start):
            kw = {} if maxiter is None else {"maxiter": maxiter}
            r = StudentTML(y, X, extra_params_names=["sigma", "nu"]).fit(start_params=start, method=method, disp=0, **kw)
            return _sm_result(r)
        return run

    def nll(th):
        return -np.sum(stats.t.logpdf(y, th[-1], loc=X @ th[:-2], scale=th[-2]))

    def scipy_bfgs(start):
        o = optimize.minimize(nll, start, method="BFGS")  # finite-difference gradient
        cov = np.linalg.inv(approx_hess3(o.x, nll))
        return {"est": o.x, "se": np.sqrt(np.diag(cov)), "claimed": bool(o.success), "llf": -float(o.fun),
                "note": "" if o.success else f"success=False: {o.message}"}

    return [
        ("statsmodels GenericLikelihoodModel newton", glm("newton"), "slow"),
        ("statsmodels GenericLikelihoodModel bfgs", glm("bfgs"), "slow"),
        ("scipy BFGS (FD grad) + approx_hess3", scipy_bfgs, "slow"),
    ]


def quiet(fn):
    def run(*a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return fn(*a)
    return run


def actually_converged(r, ref_est, ref_llf) -> bool:
    """Finite, at jaxmle's maximum (loglik within 1e-6 relative) and estimates within 1e-3 relative."""
    if not (np.all(np.isfinite(r["est"])) and np.isfinite(r["llf"])):
        return False
    return abs(r["llf"] - ref_llf) <= 1e-6 * abs(ref_llf) and C.max_rel_diff(r["est"], ref_est) <= 1e-3


def run_rounds(entries):
    """entries: list of [name, fn, reps, Timing]. Interleave: round r runs every entry with reps > r."""
    rounds = max(e[2] for e in entries)
    for r in range(rounds):
        for name, fn, reps, timing in entries:
            if r < reps:
                settle()
                dt, out = C.timed(fn)
                timing.add(dt, out)
        log(f"  round {r + 1}/{rounds} done")


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------

def bench_w1(n, reps_jax, reps_fast, reps_slow):
    log(f"W1: Poisson n={n}, p={C.W1_P}")
    data = C.w1_data(n)
    jfit = quiet(lambda: C.jaxmle_w1(data))
    jfit()  # compile (the fresh-process first call is measured separately)
    jax_t = C.Timing()
    entries = [["jaxmle newton", jfit, reps_jax, jax_t]]
    comps = []
    for name, fn, speed in w1_competitors(data):
        fn = quiet(fn)
        if speed == "fast":
            fn()  # warm-up (lazy imports, caches)
        t = C.Timing()
        entries.append([name, fn, reps_fast if speed == "fast" else reps_slow, t])
        comps.append((name, t))
    run_rounds(entries)
    ref = jax_t.result
    ref_est, ref_se = C.jaxmle_flat(ref, ["beta"])
    rows = [_jax_row("W1", "jaxmle newton (steady)", "zeros", jax_t, ref)]
    for name, t in comps:
        r = t.result
        rows.append(_comp_row("W1", name, "zeros" if "sm.Poisson" not in name else "sm default", t, jax_t, r,
                              ref_est, ref_se, ref.loglik))
    return {"rows": rows, "checks": [], "jaxmle": _jax_summary(ref)}


def bench_w2(n, reps_jax, reps_slow, check_maxiter=None):
    log(f"W2: Student-t n={n}, p={C.W2_P} + sigma, nu")
    data = C.w2_data(n)
    naive, better = C.w2_naive_start(), C.w2_better_start(data)
    j_naive = quiet(lambda: C.jaxmle_w2(data, naive))
    j_better = quiet(lambda: C.jaxmle_w2(data, better))
    j_batched = quiet(lambda: C.jaxmle_w2(data, naive, "batched"))
    j_naive(), j_better(), j_batched()  # compile
    ref = j_naive()
    ref_est, ref_se = C.jaxmle_flat(ref, ["beta", "sigma", "nu"])
    ref_b = j_better()
    jb_est, _ = C.jaxmle_flat(ref_b, ["beta", "sigma", "nu"])

    # 1) Does each competitor converge from the naive start? (one run each, also timed once)
    checks, plan = [], []
    checks.append({
        "solver": "jaxmle newton", "start": "naive", "claimed": bool(ref.converged), "actual": bool(ref.converged),
        "llf": ref.loglik, "est_rel": 0.0, "se_rel": 0.0, "time_s": None, "n_iter": ref.n_iter,
        "note": f"better start reaches the same estimate (max rel diff {C.max_rel_diff(jb_est, ref_est):.1e})",
    })
    timed_fns = {name: quiet(fn) for name, fn, _ in w2_competitors(data)}
    for name, fn, _ in w2_competitors(data, maxiter=check_maxiter):
        fn = quiet(fn)
        log(f"  naive-start check: {name}")
        dt, r = C.timed(lambda: fn(naive))
        ok = actually_converged(r, ref_est, ref.loglik)
        checks.append({
            "solver": name, "start": "naive", "claimed": r["claimed"], "actual": ok, "llf": r["llf"],
            "est_rel": C.max_rel_diff(r["est"], ref_est), "se_rel": C.max_rel_diff(r["se"], ref_se),
            "time_s": dt, "n_iter": None, "note": r["note"], "est": r["est"].tolist(),
        })
        if not ok:
            log(f"  better-start check: {name}")
            dtb, rb = C.timed(lambda: fn(better))
            okb = actually_converged(rb, ref_est, ref.loglik)
            checks.append({
                "solver": name, "start": "better", "claimed": rb["claimed"], "actual": okb, "llf": rb["llf"],
                "est_rel": C.max_rel_diff(rb["est"], ref_est), "se_rel": C.max_rel_diff(rb["se"], ref_se),
                "time_s": dtb, "n_iter": None, "note": rb["note"], "est": rb["est"].tolist(),
            })
        plan.append((name, timed_fns[name], "naive" if ok else "better"))

    # 2) Timings, interleaved; each competitor from the start where it converges, against jaxmle from the same start.
    jt = {"naive": C.Timing(), "better": C.Timing(), "batched": C.Timing()}
    entries = [["jaxmle naive", j_naive, reps_jax, jt["naive"]], ["jaxmle better", j_better, reps_jax, jt["better"]],
               ["jaxmle batched", j_batched, reps_jax, jt["batched"]]]
    comps = []
    for name, fn, start in plan:
        s = naive if start == "naive" else better
        t = C.Timing()
        entries.append([name, (lambda fn=fn, s=s: fn(s)), reps_slow, t])
        comps.append((name, start, t))
    run_rounds(entries)
    rows = [
        _jax_row("W2", "jaxmle newton (steady)", "naive", jt["naive"], jt["naive"].result),
        _jax_row("W2", "jaxmle newton (steady)", "better", jt["better"], jt["better"].result),
        _jax_row("W2", "jaxmle newton, hessian='batched' (steady)", "naive", jt["batched"], jt["batched"].result),
    ]
    for name, start, t in comps:
        rows.append(_comp_row("W2", name, start, t, jt[start], t.result, ref_est, ref_se, ref.loglik))
    return {"rows": rows, "checks": checks, "jaxmle": _jax_summary(ref), "better_start": better.tolist()}


def _jax_summary(res):
    return {"converged": bool(res.converged), "n_iter": int(res.n_iter), "loglik": float(res.loglik),
            "params": {k: np.asarray(v).tolist() for k, v in res.params.items()},
            "stderr": {k: np.asarray(v).tolist() for k, v in res.stderr.items()}}


def _jax_row(w, name, start, t, res):
    return {"workload": w, "solver": name, "start": start, "reps": len(t.times), "min": t.min, "median": t.median,
            "ratio_median": 1.0, "ratio_min": 1.0, "claimed": bool(res.converged), "actual": bool(res.converged),
            "est_rel": 0.0, "se_rel": 0.0, "note": f"{res.n_iter} iterations", "times": t.times}


def _comp_row(w, name, start, t, jt, r, ref_est, ref_se, ref_llf):
    return {"workload": w, "solver": name, "start": start, "reps": len(t.times), "min": t.min, "median": t.median,
            "ratio_median": t.median / jt.median, "ratio_min": t.min / jt.min, "claimed": r["claimed"],
            "actual": actually_converged(r, ref_est, ref_llf), "est_rel": C.max_rel_diff(r["est"], ref_est),
            "se_rel": C.max_rel_diff(r["se"], ref_se), "note": r["note"], "times": t.times}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def fmt_t(s):
    return "-" if s is None or not np.isfinite(s) else (f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s")


def fmt_e(x):
    return "NaN" if x is None or not np.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


def yn(b):
    return "yes" if b else "NO"


def render(report) -> str:
    out = []
    meta = report["meta"]
    out.append(f"## jaxmle fit benchmark{' (QUICK: small n, not for the record)' if meta['quick'] else ''}\n")
    out.append(f"- machine: {meta['processor']}, {meta['nproc']} CPUs; load average before/after: "
               f"{meta['load_before']} / {meta['load_after']}")
    out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    out.append(f"- other processes used {100 * meta['others_cpu_share']:.0f}% of the machine's CPU during the run "
               "(0% = idle apart from this benchmark)")
    wi = meta["wait_idle"]
    if wi["wait"] > 0:
        out.append(f"- --wait-idle {wi['wait']:g}: {wi['calls'] - wi['not_idle']}/{wi['calls']} timed calls started "
                   "after an idle window (>= 85% idle CPU); the rest after waiting the full time")
    out.append(f"- jaxmle at git {meta['git']}")
    out.append("- env: " + ", ".join(f"{k}={v}" for k, v in meta["env"].items()))
    out.append(f"- W1 n={meta['w1_n']}, W2 n={meta['w2_n']}; total benchmark time {meta['total_s']:.0f} s\n")

    out.append("### jaxmle first call in a fresh process (trace + compile + run; imports and data not timed)\n")
    out.append("| workload | reps | min | median | CPU time (median) | of which XLA compile (all / `_fit`) | tracing | lowering | rest (validation, run, ...) | steady call in same process |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for w, fc in report["first_call"].items():
        firsts = [c["first_s"] for c in fc]
        med = lambda k: statistics.median(c[k] for c in fc)  # noqa: E731
        out.append(f"| {w} | {len(fc)} | {fmt_t(min(firsts))} | {fmt_t(statistics.median(firsts))} | "
                   f"{fmt_t(med('first_cpu_s'))} | {fmt_t(med('compile_s'))} / {fmt_t(med('fit_compile_s'))} | {fmt_t(med('trace_s'))} | "
                   f"{fmt_t(med('lower_s'))} | "
                   f"{fmt_t(statistics.median(c['first_s'] - c['compile_s'] - c['trace_s'] - c['lower_s'] for c in fc))} | "
                   f"{fmt_t(med('second_s'))} |")
    out.append("\n(W2 is fitted with the default `hessian=\"auto\"`, which picks `\"columns\"` for this model; W2b is "
               "the same fit with `hessian=\"batched\"`, for comparison. W2s is W2 in a process that imported "
               "`scipy.linalg` before the call, as any scipy or statsmodels user's has: jaxlib initialises its CPU "
               "LAPACK kernels from scipy's, so the first lowering of a linear-algebra op (here the Hessian's `eigh`) "
               "in a process imports `scipy.linalg` (about 85 scipy modules, plus numpy.testing and f2py) unless it "
               "is there already; that one-time cost is in W2's lowering column and not in W2s's. The targets use W2. "
               "CPU time: user+system of the child process over the first call, all threads; "
               "compile/tracing/lowering: medians over the child processes, from `jax.monitoring` events; "
               "the persistent compilation cache is off: `jax_compilation_cache_dir` = "
               f"{report['first_call']['W1'][0]['persistent_cache_dir']}.)\n")

    out.append("### The persistent compilation cache: later processes (`jaxmle.enable_compilation_cache`)\n")
    out.append("| workload | first call, process writing the cache | later processes: first call (min / median) | "
               "compilation they pay (median; of which loading from the cache) | programs | tracing | lowering |")
    out.append("|---|---|---|---|---|---|---|")
    for w, c in report["cached"].items():
        later = c["later"]
        med = lambda k: statistics.median(x[k] for x in later)  # noqa: E731
        firsts = [x["first_s"] for x in later]
        out.append(f"| {w} | {fmt_t(c['writer']['first_s'])} | {fmt_t(min(firsts))} / {fmt_t(statistics.median(firsts))} | "
                   f"{fmt_t(med('compile_s'))} ({fmt_t(med('cache_load_s'))}) | "
                   f"{max(x['n_compiles'] for x in later)} | {fmt_t(med('trace_s'))} | {fmt_t(med('lower_s'))} |")
    out.append("\n(Each row: fresh processes sharing a new cache folder; the first writes every program it compiles, "
               "the later ones load them. \"Compilation they pay\": JAX's backend-compile time, which on a cache hit "
               "is the load from the cache (plus any program compiled anew); \"programs\": those compiled or loaded. "
               "JAX does not cache tracing and lowering, so a later process still pays those and the run.)\n")

    out.append("### Fit + standard errors: time and ratio to jaxmle steady state\n")
    out.append("| workload | solver | start | reps | min | median | ratio (median) | ratio (min) | claims converged | actually converged | est rel diff | SE rel diff | note |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in ("W1", "W2"):
        for r in report[w]["rows"]:
            rm = "1 (ref)" if r["solver"].startswith("jaxmle") else f"{r['ratio_median']:.1f}x"
            rn = "1 (ref)" if r["solver"].startswith("jaxmle") else f"{r['ratio_min']:.1f}x"
            out.append(f"| {w} | {r['solver']} | {r['start']} | {r['reps']} | {fmt_t(r['min'])} | {fmt_t(r['median'])} | "
                       f"{rm} | {rn} | {yn(r['claimed'])} | {yn(r['actual'])} | {fmt_e(r['est_rel'])} | "
                       f"{fmt_e(r['se_rel'])} | {r['note']} |")
    out.append("\nRatios: competitor / jaxmle from the same start (W2 `better` rows are compared with jaxmle "
               "from the better start). rel diff: max_j |x_j - x_jaxmle_j| / |x_jaxmle_j|. "
               "\"actually converged\": finite, loglik within 1e-6 (relative) of jaxmle's maximum and estimates "
               "within 1e-3. W1 start: zeros (sm.Poisson: its own default start).\n")

    out.append("### W2: convergence from the naive start (beta=0, sigma=1, nu=10)\n")
    if meta["quick"]:
        out.append("(quick mode: statsmodels capped at maxiter=50 in this check; the full run uses its defaults)\n")
    b = report["W2"]["better_start"]
    out.append(f"Better start (OLS beta, 1.4826*MAD of OLS residuals, nu=5): "
               f"[{', '.join(f'{x:.3g}' for x in b)}]\n")
    out.append("| solver | start | claims converged | actually converged | loglik | est rel diff | SE rel diff | time (1 run) | note |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for c in report["W2"]["checks"]:
        note = c["note"]
        if not c["actual"] and "est" in c and not np.all(np.isfinite(c["est"])):
            note = (note + "; " if note else "") + "estimates NaN"
        elif not c["actual"] and "est" in c:
            note = (note + "; " if note else "") + "ended at [" + ", ".join(f"{x:.3g}" for x in c["est"]) + "]"
        out.append(f"| {c['solver']} | {c['start']} | {yn(c['claimed'])} | {yn(c['actual'])} | "
                   f"{c['llf']:.6f} | {fmt_e(c['est_rel'])} | {fmt_e(c['se_rel'])} | {fmt_t(c['time_s'])} | {note} |")

    out.append("\n### Targets\n")
    out.append("Verdict on the median ratio / median first-call time; the min-based value is shown for reference.\n")
    if meta["quick"]:
        out.append("(quick mode: small n, so these verdicts say nothing about the targets, which are for the full sizes)\n")
    out.append("| target | median | min | verdict |")
    out.append("|---|---|---|---|")
    for t in report["targets"]:
        out.append(f"| {t['text']} | {t['median']} | {t['min']} | {t['verdict']} |")
    return "\n".join(out)


def evaluate_targets(report):
    res = []
    for w, what, kind, thr, text in TARGETS:
        if kind in ("first", "cache"):
            if kind == "first":
                values = [c["first_s"] for c in report["first_call"][w]]
            else:
                values = [c["compile_s"] for c in report["cached"][w]["later"]]
            med, mn = statistics.median(values), min(values)
            ok_med, ok_min = med < thr, mn < thr
            smed, smin = f"{med:.2f} s", f"{mn:.2f} s"
        else:
            rows = [r for r in report[w]["rows"] if r["solver"] == what]
            if not rows:
                res.append({"text": text, "median": "-", "min": "-", "verdict": "n/a"})
                continue
            r = rows[0]
            ok_med, ok_min = r["ratio_median"] >= thr, r["ratio_min"] >= thr
            smed, smin = f"{r['ratio_median']:.1f}x", f"{r['ratio_min']:.1f}x"
            if r["start"] != "naive" and w == "W2":
                text += f" (from the {r['start']} start; it does not converge from the naive one)"
        verdict = "PASS" if ok_med else "MISS"
        if ok_med != ok_min:
            verdict += f" ({'PASS' if ok_min else 'MISS'} on min)"
        res.append({"text": text, "median": smed, "min": smin, "verdict": verdict})
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small n, few repeats: a smoke run")
    ap.add_argument("--json", help="also write the raw numbers to this file")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="before each timed call wait up to S seconds for the CPU to be >= 85%% idle "
                         "(for a machine shared with other jobs; default 0: do not wait)")
    ap.add_argument("--child", choices=["W1", "W2", "W2b", "W2s"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.n, args.cache)

    t_start = time.perf_counter()
    IDLE["wait"] = args.wait_idle
    if args.quick:
        w1_n, w2_n, reps_jax, reps_fast, reps_slow, reps_first = 5_000, 5_000, 5, 3, 2, 1
    else:
        w1_n, w2_n, reps_jax, reps_fast, reps_slow, reps_first = C.W1_N, C.W2_N, 15, 15, 3, 3

    import jax
    import scipy
    import statsmodels

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    busy0, own0 = _busy_seconds(), _own_seconds()
    report = {"first_call": {"W1": [], "W2": [], "W2b": [], "W2s": []}}
    log("first calls in fresh processes")
    for i in range(reps_first):  # interleaved W1/W2/W2b/W2s
        for w, n in (("W1", w1_n), ("W2", w2_n), ("W2b", w2_n), ("W2s", w2_n)):
            report["first_call"][w].append(first_call(w, n))
            log(f"  {w} first call {i + 1}: {report['first_call'][w][-1]['first_s']:.2f} s")
    log("the persistent compilation cache: one process writes it, later ones load from it")
    report["cached"] = {}
    for w, n in (("W1", w1_n), ("W2", w2_n)):
        with tempfile.TemporaryDirectory(prefix="jaxmle-bench-cache-") as folder:
            writer = first_call(w, n, folder)
            later = [first_call(w, n, folder) for _ in range(max(reps_first - 1, 1))]
        report["cached"][w] = {"writer": writer, "later": later}
        log(f"  {w}: writer {writer['first_s']:.2f} s, later " + ", ".join(f"{c['first_s']:.2f} s" for c in later))
    report["W1"] = bench_w1(w1_n, reps_jax, reps_fast, reps_slow)
    # quick: cap statsmodels' iterations in the naive-start check (it can run its default 500 Newton steps)
    report["W2"] = bench_w2(w2_n, reps_jax, reps_slow, check_maxiter=50 if args.quick else None)
    report["meta"] = {
        "quick": args.quick, "w1_n": w1_n, "w2_n": w2_n, "processor": platform.processor() or platform.machine(),
        "nproc": os.cpu_count(), "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": {"python": platform.python_version(), "jax": jax.__version__, "statsmodels": statsmodels.__version__,
                     "scipy": scipy.__version__, "numpy": np.__version__},
        "env": {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                          "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "XLA_FLAGS")},
        "total_s": time.perf_counter() - t_start,
        "git": _git_state(),
        "wait_idle": dict(IDLE),
    }
    # CPU used by *other* processes during the run, as a share of all cores (0 = machine otherwise idle).
    others = (_busy_seconds() - busy0) - (_own_seconds() - own0)
    report["meta"]["others_cpu_share"] = max(0.0, others) / (report["meta"]["total_s"] * (os.cpu_count() or 1))
    report["targets"] = evaluate_targets(report)
    print(render(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


if __name__ == "__main__":
    main()
