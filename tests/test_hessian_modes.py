"""hessian="columns" (the gradient linearized once, one Hessian column per direction) computes the
same numbers as forward-over-reverse "batched"; hessian="auto" (the default) chooses between them
from the model's structure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import stats

import jaxmle
from jaxmle import models

from . import zoo

RNG = np.random.default_rng(7)
X = np.column_stack([np.ones(zoo.N), RNG.standard_normal(zoo.N)])
T_DATA = {"X": X, "y": X @ np.array([1.0, -0.5]) + 0.8 * RNG.standard_t(5.0, zoo.N)}
P0 = {"beta": jnp.array([1.0, -0.5]), "sigma": 1.0, "nu": 5.0}
SUPPORT = {"sigma": "positive", "nu": "positive"}


def t_loglik(params, data):
    return stats.t.logpdf(data["y"], params["nu"], loc=data["X"] @ params["beta"], scale=params["sigma"])


def t_total(params, data):
    return jnp.sum(t_loglik(params, data))


def assert_same_fit(a, b):
    assert a.n_iter == b.n_iter and a.converged and b.converged
    for name in a.params:
        np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-10)
    np.testing.assert_allclose(b.cov, a.cov, rtol=1e-9)
    np.testing.assert_allclose(b.hessian, a.hessian, rtol=1e-9)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-13)


@pytest.mark.parametrize("extra", [{}, {"chunk_size": 64}], ids=["plain", "chunked"])
def test_columns_equal_batched(extra):
    batched = jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, **extra)
    columns = jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, hessian="columns", **extra)
    assert_same_fit(batched, columns)


def test_columns_with_a_scalar_loglik_and_a_gradient_method():
    batched = jaxmle.maximize(t_total, P0, T_DATA, constraints=SUPPORT, method="bfgs")
    columns = jaxmle.maximize(t_total, P0, T_DATA, constraints=SUPPORT, method="bfgs", hessian="columns")
    assert_same_fit(batched, columns)


def logistic_loglik(params, data):
    eta = data["X"] @ params["beta"]
    return data["y"] * eta - jax.nn.softplus(eta)


def normal_loglik(params, data):
    return stats.norm.logpdf(data["y"], data["X"] @ params["beta"], params["sigma"])


# "auto" picks columns on the CPU only (test_auto_is_batched_off_the_cpu): what the fits below expect.
COLUMNS_ON_CPU = "columns" if jax.default_backend() == "cpu" else "batched"


def test_auto_picks_columns_where_a_scalar_parameter_enters_a_transcendental_per_observation():
    """t: nu and sigma enter log1p(r^2 / (nu sigma^2)) of every observation; logistic: only beta,
    through X @ beta; normal: sigma enters only through divisions and log(sigma), a scalar."""
    binary = {"X": X, "y": (T_DATA["y"] > 1.0).astype(float)}
    fits = {
        "columns": jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT),
        "batched": jaxmle.maximize(logistic_loglik, {"beta": jnp.zeros(2)}, binary),
    }
    assert {mode: res._config.hessian for mode, res in fits.items()} == {"columns": COLUMNS_ON_CPU, "batched": "batched"}
    normal = jaxmle.maximize(normal_loglik, {"beta": jnp.zeros(2), "sigma": 1.0}, T_DATA,
                             constraints={"sigma": "positive"}, method="bfgs")
    assert normal._config.hessian == "batched"
    assert_same_fit(fits["columns"], jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, hessian="batched"))


def test_auto_follows_the_parameters_into_control_flow(monkeypatch):
    """The jaxpr walk enters a cond's branches (its operands after the index) and a while loop."""
    from jaxmle import _hessian_mode

    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")  # the rule under test is the CPU's

    def t_in_cond(params, data):
        return jax.lax.cond(params["nu"] > 0, lambda p: t_loglik(p, data), lambda p: jnp.zeros(zoo.N), params)

    def beta_in_loop(params, data):
        eta = jax.lax.fori_loop(0, 2, lambda i, e: e + 0.5 * (data["X"] @ params["beta"]), jnp.zeros(zoo.N))
        return stats.norm.logpdf(data["y"], eta, params["sigma"])

    t_params = {"beta": jnp.zeros(2), "sigma": jnp.asarray(1.0), "nu": jnp.asarray(5.0)}
    assert _hessian_mode.choose(t_in_cond, t_params, T_DATA, zoo.N) == "columns"
    normal_params = {"beta": jnp.zeros(2), "sigma": jnp.asarray(1.0)}
    assert _hessian_mode.choose(beta_in_loop, normal_params, T_DATA, zoo.N) == "batched"
    assert _hessian_mode.choose(normal_loglik, normal_params, T_DATA, zoo.N) == "batched"


def test_auto_is_batched_off_the_cpu(monkeypatch):
    """The slow batched derivatives are XLA:CPU's; a GPU or TPU runs one batched pass."""
    from jaxmle import _hessian_mode

    params = {"beta": jnp.zeros(2), "sigma": jnp.asarray(1.0), "nu": jnp.asarray(5.0)}
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    assert _hessian_mode.choose(t_loglik, params, T_DATA, zoo.N) == "columns"
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert _hessian_mode.choose(t_loglik, params, T_DATA, zoo.N) == "batched"


def test_auto_under_vmap_of_make_solver():
    solve = jaxmle.make_solver(t_loglik, P0, constraints=SUPPORT, cov_type="oim")
    ys = np.stack([T_DATA["y"], T_DATA["y"] + 0.1])
    with jax.enable_x64(True):
        batch = jax.jit(jax.vmap(lambda y: solve(P0, {"X": jnp.asarray(X), "y": y})))(ys)
    for i in range(2):
        ref = jaxmle.maximize(t_loglik, P0, {"X": X, "y": np.asarray(ys[i])}, constraints=SUPPORT)
        np.testing.assert_allclose(batch.params["nu"][i], ref.params["nu"], rtol=1e-9)
        np.testing.assert_allclose(batch.cov[i], ref.cov, rtol=1e-8)


def test_ready_made_models_carry_their_measured_mode():
    assert models.student_t().hessian == "auto" and models.logit().hessian == "auto"
    assert models.gamma().hessian == "batched" and models.weibull().hessian == "batched"
    model = models.student_t()
    default = models.fit(model, T_DATA)
    assert default._config.hessian == COLUMNS_ON_CPU
    assert_same_fit(models.fit(model, T_DATA, hessian="batched"), default)


def test_unknown_hessian_mode_is_named():
    with pytest.raises(ValueError, match="hessian: unknown 'column'; expected 'auto' or one of"):
        jaxmle.maximize(t_loglik, P0, T_DATA, constraints=SUPPORT, hessian="column")
