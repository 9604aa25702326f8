"""Several devices: data sharded along the observation axis give the single-device results.

Runs in a subprocess with 4 virtual CPU devices (XLA_FLAGS must be set before JAX starts).
"""

import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    os.environ["JAX_PLATFORMS"] = "cpu"  # 4 virtual CPU devices also where a GPU is installed
    import numpy as np, jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    from jax.scipy import stats
    import jaxmle

    assert len(jax.devices()) == 4

    def loglik(p, d):
        return stats.poisson.logpmf(d["y"], jnp.exp(d["X"] @ p["beta"]))

    rng = np.random.default_rng(0)
    n = 4000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = rng.poisson(np.exp(X @ np.array([0.3, 0.2, -0.1]))).astype(float)
    single = jaxmle.maximize(loglik, {"beta": np.zeros(3)}, {"X": X, "y": y}, cov_type="robust")

    mesh = Mesh(np.array(jax.devices()), ("obs",))
    with jax.enable_x64(True):
        data = {"X": jax.device_put(jnp.asarray(X), NamedSharding(mesh, P("obs", None))),
                "y": jax.device_put(jnp.asarray(y), NamedSharding(mesh, P("obs")))}
    multi = jaxmle.maximize(loglik, {"beta": np.zeros(3)}, data, cov_type="robust")
    np.testing.assert_allclose(multi.params["beta"], single.params["beta"], rtol=1e-12)
    np.testing.assert_allclose(multi.cov, single.cov, rtol=1e-10)
    np.testing.assert_allclose(multi.loglik, single.loglik, rtol=1e-13)

    # the compiled fit really is partitioned: its sums are reduced across the 4 devices
    engine = multi._config.engine(False)
    with jax.enable_x64(True):
        hlo = engine.fit.lower(
            {"beta": np.zeros(3)}, data, np.ones(n), np.asarray(1e-10), np.asarray(100, np.int32), None,
            meat_kind="opg", n_groups=0, expected=False,
        ).compile().as_text()
    assert "all-reduce" in hlo

    # float32 arrays (JAX's default) are cast to float64 on the host, shard by shard, keeping their
    # sharding (the same compiled fit); a NaN in one device's shard is found and named
    sharded = lambda x, spec: jax.device_put(x, NamedSharding(mesh, spec))
    data32 = {"X": sharded(jnp.asarray(X, jnp.float32), P("obs", None)), "y": sharded(jnp.asarray(y, jnp.float32), P("obs"))}
    ref32 = jaxmle.maximize(loglik, {"beta": np.zeros(3)}, {k: np.asarray(v, np.float64) for k, v in data32.items()},
                            cov_type="robust")
    multi32 = jaxmle.maximize(loglik, {"beta": np.zeros(3)}, data32, cov_type="robust")
    np.testing.assert_allclose(multi32.params["beta"], ref32.params["beta"], rtol=1e-12)
    assert not np.allclose(ref32.params["beta"], single.params["beta"], rtol=1e-9, atol=0)  # (X rounded to float32)
    bad = y.copy()
    bad[2500] = np.nan
    with jax.enable_x64(True):
        y_bad = sharded(jnp.asarray(bad), P("obs"))
    try:
        jaxmle.maximize(loglik, {"beta": np.zeros(3)}, {"X": data["X"], "y": y_bad})
        raise AssertionError("no error for a NaN in a sharded data leaf")
    except ValueError as err:
        assert "data['y'] contains NaN/inf in 1 value(s) (first rows [2500])" in str(err), err

    # the bootstrap's draws are made on a worker thread: in the caller's default device too
    from jaxmle import _bootstrap
    seen, draw = [], _bootstrap.resample_counts
    def spy(*args):
        out = draw(*args)
        seen.append(out.devices())
        return out
    _bootstrap.resample_counts = spy
    small = {"X": X[:200], "y": y[:200]}
    fit = jaxmle.maximize(loglik, {"beta": np.zeros(3)}, small)
    with jax.default_device(jax.devices()[2]):
        jaxmle.bootstrap(loglik, fit, small, n_boot=16, key=0)
    assert seen and all(d == {jax.devices()[2]} for d in seen), seen
    with jax.enable_x64(True):  # data committed to a device: the draws follow it into the solve
        on3 = jax.device_put({k: jnp.asarray(v) for k, v in small.items()}, jax.devices()[3])
    boot = jaxmle.bootstrap(loglik, fit, on3, n_boot=16, key=0)
    assert boot.n_failed == 0
    print("OK")
    """
)


def test_sharded_data_gives_single_device_results():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("OK")
