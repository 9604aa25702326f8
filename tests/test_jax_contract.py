"""The JAX contract: one compiled solve, no recompilation, float64 by default, vmap equals a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxmle

from . import zoo
from .compilations import compiled_during

DATA = zoo.draw(0)
TRACES = {"n": 0}


def counting_normal(params, data):
    TRACES["n"] += 1  # runs only while JAX traces, never when compiled code executes
    return zoo.normal(params, data)


def test_second_call_with_same_shapes_does_not_retrace():
    x1, x2 = DATA["normal"], DATA["normal"][::-1] * 2.0
    kwargs = dict(constraints={"sigma": "positive"})
    jaxmle.maximize(counting_normal, {"mu": 0.0, "sigma": 1.0}, x1, **kwargs)
    before = TRACES["n"]
    assert before > 0
    res = jaxmle.maximize(counting_normal, {"mu": 1.0, "sigma": 2.0}, x2, **kwargs)
    assert TRACES["n"] == before, "the second fit retraced the log-likelihood"
    np.testing.assert_allclose(res.params["mu"], x2.mean(), rtol=1e-8)
    # a different tol or max_iter is dynamic too: still no retrace
    jaxmle.maximize(counting_normal, {"mu": 1.0, "sigma": 2.0}, x2, tol=1e-6, max_iter=50, **kwargs)
    assert TRACES["n"] == before


def test_float32_start_gives_float64_fit_and_leaves_global_config():
    assert not jax.config.jax_enable_x64
    start = {"mu": jnp.zeros(()), "sigma": jnp.ones(())}  # float32 under JAX defaults
    assert start["mu"].dtype == jnp.float32
    res = jaxmle.maximize(zoo.normal, start, DATA["normal"], constraints={"sigma": "positive"})
    assert res.params["mu"].dtype == np.float64
    np.testing.assert_allclose(res.params["mu"], DATA["normal"].mean(), rtol=1e-8)  # float64 accuracy
    assert not jax.config.jax_enable_x64
    assert jnp.ones(2).dtype == jnp.float32  # the user's float32 program is unchanged


def test_jax_array_data_compile_nothing_but_the_fit():
    # Data held as JAX arrays (float32 under JAX's defaults, or float64) are checked for NaN/inf and
    # cast to float64 by NumPy in host memory: before, each leaf's shape compiled a reduction (~0.1 s)
    # and each float32 leaf a conversion (~0.05 s) on a first fit. n = 197: shapes no other test uses.
    X, y = DATA["logistic"]["X"][:197], DATA["logistic"]["y"][:197]
    with jax.enable_x64(True):
        y64 = jnp.asarray(y)
    data = {"X": jnp.asarray(X), "y": y64}
    assert data["X"].dtype == jnp.float32 and data["y"].dtype == jnp.float64
    compiled, res = compiled_during(lambda: jaxmle.maximize(zoo.logistic, {"beta": np.zeros(3)}, data))
    if jax.default_backend() == "cpu":
        assert compiled == ["jit(_fit)"], compiled
    else:  # on an accelerator the check and the cast stay on the device (a program each)
        assert compiled[-1] == "jit(_fit)" and "jit(_all_finite_on_device)" in compiled, compiled
    ref = jaxmle.maximize(zoo.logistic, {"beta": np.zeros(3)}, {"X": np.asarray(data["X"], np.float64), "y": y})
    np.testing.assert_allclose(res.params["beta"], ref.params["beta"], rtol=1e-13)
    np.testing.assert_allclose(res.cov, ref.cov, rtol=1e-12)


def test_float32_opt_in():
    res = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, DATA["normal"], constraints={"sigma": "positive"},
                          dtype="float32")
    assert res.converged  # stops when Newton steps fall below float32 rounding
    # single precision: about 7 significant digits, SEs to ~1e-6 (loose by the float32 eps 1.2e-7)
    np.testing.assert_allclose(res.params["mu"], DATA["normal"].mean(), rtol=1e-6)
    np.testing.assert_allclose(res.stderr["mu"], DATA["normal"].std() / np.sqrt(zoo.N), rtol=1e-5)


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
def test_float32_gradient_methods_stop_at_the_rounding_level(method):
    # float32 cannot resolve a relative gradient of 1e-10 (the default tol): gradient-based solvers
    # stop once it is below float32's epsilon instead of running to max_iter and reporting failure.
    kwargs = dict(constraints={"sigma": "positive"}, method=method)
    res = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, DATA["normal"], dtype="float32", **kwargs)
    assert res.converged and res.n_iter < 100
    assert res.grad_norm <= np.finfo(np.float32).eps
    np.testing.assert_allclose(res.params["mu"], DATA["normal"].mean(), rtol=1e-6)
    np.testing.assert_allclose(res.stderr["mu"], DATA["normal"].std() / np.sqrt(zoo.N), rtol=1e-5)


def test_models_are_traced_with_full_precision_matrix_products():
    # GPUs multiply float32 matrices in TensorFloat-32 (~1e-3 relative) unless asked otherwise,
    # which stops float32 fits from converging: jaxmle traces the model with "highest" precision,
    # in float32 and float64 alone, for maximize and the bootstrap, and leaves the global setting.
    seen = []

    def recording_normal(params, data):
        seen.append(jax.config.jax_default_matmul_precision)  # only while JAX traces
        return zoo.normal(params, data)

    kwargs = dict(constraints={"sigma": "positive"})
    for dtype in ["float32", "float64"]:
        res = jaxmle.maximize(recording_normal, {"mu": 0.1, "sigma": 1.1}, DATA["normal"], dtype=dtype, **kwargs)
        jaxmle.bootstrap(recording_normal, res, DATA["normal"], n_boot=4, key=jax.random.key(0))
    assert seen and set(seen) == {"highest"}
    seen.clear()  # and a make_solver solve traced inside the caller's own jit
    solve = jaxmle.make_solver(recording_normal, {"mu": 0.1, "sigma": 1.1}, dtype="float32", **kwargs)
    sol = jax.jit(solve)({"mu": 0.1, "sigma": 1.1}, jnp.asarray(DATA["normal"], jnp.float32))
    assert bool(sol.converged) and seen and set(seen) == {"highest"}
    assert jax.config.jax_default_matmul_precision is None


def test_vmap_of_the_solver_equals_a_loop_of_maximize():
    rng = np.random.default_rng(5)
    batch = rng.normal(1.0, 2.0, size=(6, zoo.N))
    start = {"mu": 0.0, "sigma": 1.0}
    solve = jaxmle.make_solver(zoo.normal, start, constraints={"sigma": "positive"})
    with jax.enable_x64(True):
        sols = jax.jit(jax.vmap(solve, in_axes=(None, 0)))(start, jnp.asarray(batch))
    assert sols.params["mu"].shape == (6,)
    assert bool(np.all(sols.converged))
    for b in range(6):
        res = jaxmle.maximize(zoo.normal, start, batch[b], constraints={"sigma": "positive"})
        np.testing.assert_allclose(np.asarray(sols.params["mu"][b]), res.params["mu"], rtol=1e-12)
        np.testing.assert_allclose(np.asarray(sols.params["sigma"][b]), res.params["sigma"], rtol=1e-12)
        np.testing.assert_allclose(np.asarray(sols.loglik[b]), res.loglik, rtol=1e-12)


def test_vmap_over_weights_and_starts_keeps_per_fit_status():
    # One replicate gets max_iter too small to converge from a bad start: it alone reports failure.
    start = {"mu": 0.0, "sigma": 1.0}
    solve = jaxmle.make_solver(zoo.normal, start, constraints={"sigma": "positive"}, max_iter=4)
    x = jnp.asarray(DATA["normal"])
    w = np.ones((3, zoo.N))
    w[1, :50] = 0.0
    starts = {"mu": jnp.array([1.4, 1.4, 300.0]), "sigma": jnp.array([2.0, 2.0, 1.0])}
    with jax.enable_x64(True):
        sols = jax.vmap(solve, in_axes=(0, None, 0))(starts, x, jnp.asarray(w))
    assert np.asarray(sols.converged).tolist() == [True, True, False]
    assert int(sols.status[2]) == 1  # iteration limit
    np.testing.assert_allclose(float(sols.params["mu"][1]), DATA["normal"][50:].mean(), rtol=1e-8)


def test_result_is_a_pytree():
    res = jaxmle.maximize(zoo.exponential, {"rate": 1.0}, DATA["exponential"], constraints={"rate": "positive"})
    leaves, treedef = jax.tree_util.tree_flatten(res)
    again = jax.tree_util.tree_unflatten(treedef, leaves)
    assert again.names == res.names and again.loglik == res.loglik
    with pytest.raises(Exception):
        res.loglik = 0.0  # immutable


def test_a_compilation_near_linux_mapping_limit_warns(monkeypatch):
    # Each compiled program keeps its machine code mapped; past vm.max_map_count the next
    # compilation aborts the process. A compilation that leaves the process above 75% of the limit
    # warns; a call that compiles nothing reads nothing. (The limit is lowered here.)
    from jaxmle import _compile

    if _compile.mapping_limit() is None or _compile.mappings_in_use() is None:
        pytest.skip("no /proc memory-mapping counts on this platform")
    monkeypatch.setattr(_compile, "mapping_limit", lambda: 4 * _compile.mappings_in_use() // 3 - 10)
    x = DATA["normal"][:191]  # n = 191: a shape no other test compiles
    kwargs = dict(constraints={"sigma": "positive"})
    with pytest.warns(jaxmle.JaxmleWarning, match=r"this process holds \d+ of the \d+ memory mappings Linux allows"):
        jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, x, **kwargs)
    read = []
    monkeypatch.setattr(_compile, "mappings_in_use", lambda: read.append(1) or 10**9)
    res = jaxmle.maximize(zoo.normal, {"mu": 1.0, "sigma": 2.0}, x, **kwargs)  # compiled: nothing read
    assert not read and res.converged
