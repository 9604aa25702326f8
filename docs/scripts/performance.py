"""Performance: one compiled solve, vmap over fits, chunking, streaming, float32, devices.

Source of docs/guide/performance.md (run: python docs/scripts/performance.py). Timings depend on
the machine, so this script prints none: it shows (and asserts) that every fast path gives the
same numbers as the plain one; the measured speed is in benchmarks/RESULTS.md.
"""

import numpy as np

PAGE = "guide/performance.md"
QUOTED = {"n_groups": "2000", "f32_rel": "9e-08"}

TRACES = {"n": 0}


def main(img_dir=None):
    # --8<-- [start:model]
    import jax
    import jax.numpy as jnp
    from jax.scipy import stats

    import jaxmle

    def poisson_regression(params, data):
        TRACES["n"] += 1  # Python runs this line only while JAX traces the function
        return stats.poisson.logpmf(data["y"], jnp.exp(data["X"] @ params["beta"]))

    rng = np.random.default_rng(0)
    n, p = 5000, 4
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = rng.poisson(np.exp(X @ np.array([0.5, 0.2, -0.1, 0.05]))).astype(float)
    data, start = {"X": X, "y": y}, {"beta": np.zeros(p)}
    # --8<-- [end:model]

    # --8<-- [start:compiled]
    res = jaxmle.maximize(poisson_regression, start, data)
    traced = TRACES["n"]
    y2 = rng.poisson(np.exp(X @ np.array([0.4, 0.1, 0.0, 0.0]))).astype(float)
    res2 = jaxmle.maximize(poisson_regression, start, {"X": X, "y": y2}, tol=1e-9)  # same shapes
    print("traces of loglik, first fit:", traced, " second fit:", TRACES["n"] - traced)
    # --8<-- [end:compiled]
    assert TRACES["n"] == traced and res.converged and res2.converged

    # --8<-- [start:vmap]
    def exponential(params, t):
        return stats.expon.logpdf(t, scale=1.0 / params["rate"])

    times = rng.exponential(1.0 / rng.uniform(0.5, 3.0, size=(2000, 1)), size=(2000, 50))  # 2000 groups
    solve = jaxmle.make_solver(exponential, {"rate": 1.0}, constraints={"rate": "positive"}, cov_type="oim")
    with jax.enable_x64(True):
        fits = jax.jit(jax.vmap(solve, in_axes=(None, 0)))({"rate": 1.0}, jnp.asarray(times))
    rate = np.asarray(fits.params["rate"])
    se = np.sqrt(np.asarray(fits.cov)[:, 0, 0])
    print("groups:", rate.size, " all converged:", bool(np.all(fits.converged)))
    print("max |rate - 1/mean| / rate:", np.max(np.abs(rate - 1 / times.mean(axis=1)) / rate))
    print("max |se - rate/sqrt(n)| / se:", np.max(np.abs(se - rate / np.sqrt(50)) / se))
    # --8<-- [end:vmap]
    np.testing.assert_allclose(rate, 1 / times.mean(axis=1), rtol=1e-10)
    np.testing.assert_allclose(se, rate / np.sqrt(50), rtol=1e-8)

    # --8<-- [start:chunks]
    chunked = jaxmle.maximize(poisson_regression, start, data, chunk_size=1000, cov_type="robust")
    robust = jaxmle.maximize(poisson_regression, start, data, cov_type="robust")

    def pieces():  # a fresh iterable of chunks, e.g. read from files
        return ({"X": X[i:i + 1000], "y": y[i:i + 1000]} for i in range(0, n, 1000))

    streamed = jaxmle.maximize_stream(poisson_regression, start, pieces, cov_type="robust")
    for name, other in (("chunk_size=1000", chunked), ("maximize_stream", streamed)):
        print(f"{name}: max rel. difference of estimates",
              np.max(np.abs(other.params["beta"] / robust.params["beta"] - 1)),
              " of the robust covariance", np.max(np.abs(other.cov / robust.cov - 1)))
    # --8<-- [end:chunks]
    for other in (chunked, streamed):
        np.testing.assert_allclose(other.params["beta"], robust.params["beta"], rtol=1e-10)
        np.testing.assert_allclose(other.cov, robust.cov, rtol=1e-9)

    # --8<-- [start:float32]
    single = jaxmle.maximize(poisson_regression, start, data, dtype="float32")
    rel = np.max(np.abs(single.params["beta"] / res.params["beta"] - 1))
    print(f"float32 vs float64: max relative difference of the estimates {rel:.0e}, "
          f"of the standard errors {np.max(np.abs(single.stderr['beta'] / res.stderr['beta'] - 1)):.0e}")
    # --8<-- [end:float32]
    assert single.converged and rel < 1e-6
    return {"n_groups": float(rate.size), "f32_rel": float(rel)}


if __name__ == "__main__":
    print(main())
