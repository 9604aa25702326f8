"""multistart: one vectorized solve over many starts finds the global optimum of a mixture."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import stats

import jaxmle

from .compilations import compiled_during

CONS = {"w": "unit_interval", "sigma": "positive"}


def mixture(params, data):
    """Two-component normal mixture, in log-space (logaddexp) so tails cannot underflow."""
    w, mu, sigma = params["w"], params["mu"], params["sigma"]
    return jnp.logaddexp(jnp.log(w) + stats.norm.logpdf(data, mu[0], sigma[0]),
                         jnp.log1p(-w) + stats.norm.logpdf(data, mu[1], sigma[1]))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(-2, 0.5, 140), rng.normal(3, 1.0, 60)])


def sampler(key, n):
    return {"w": jnp.full(n, 0.5), "mu": jax.random.uniform(key, (n, 2), minval=-5, maxval=5),
            "sigma": jnp.ones((n, 2))}


def test_single_bad_start_is_stuck_but_multistart_finds_the_global_optimum(data):
    bad = {"w": 0.5, "mu": jnp.array([10.0, 12.0]), "sigma": jnp.array([1.0, 1.0])}
    with pytest.warns(jaxmle.JaxmleWarning):  # a degenerate optimum: boundary and singular Hessian
        single = jaxmle.maximize(mixture, bad, data, constraints=CONS)
    ms = jaxmle.multistart(mixture, sampler, data, n_starts=64, key=0, constraints=CONS)
    assert ms.best.loglik > single.loglik + 100
    # the global optimum (up to label switching): weights 0.7/0.3 near the true means -2 and 3
    mu = np.sort(ms.best.params["mu"])
    np.testing.assert_allclose(mu, [-2.0, 3.0], atol=0.3)
    assert ms.best.converged and np.all(np.isfinite(ms.best.stderr["mu"]))
    # every start that reached the best log-likelihood is counted there; the table is sorted
    assert ms.optima_loglik[0] == pytest.approx(ms.best.loglik, rel=1e-10)
    assert np.all(np.diff(ms.optima_loglik) <= 1e-9)
    assert ms.optima_count.sum() == ms.converged.sum()
    assert len(ms.to_frame()) == len(ms.optima_loglik) and "boundary" in ms.to_frame()
    # degenerate optima (an empty component: weight at 0 or 1, its mean and scale arbitrary) with the
    # same log-likelihood are one row, flagged as on a boundary, not several "distinct optima"
    edge = ms.optima_loglik[ms.optima_boundary]
    assert len(np.unique(np.round(edge, 6))) == edge.size
    assert not ms.optima_boundary[0]
    assert "distinct optima" in str(ms.summary())


def test_batch_of_starts_equals_individual_fits(data):
    starts = {"w": jnp.array([0.6, 0.4]), "mu": jnp.array([[-2.5, 2.5], [2.0, -1.0]]), "sigma": jnp.ones((2, 2))}
    ms = jaxmle.multistart(mixture, starts, data, constraints=CONS)
    for i in range(2):
        start = jax.tree_util.tree_map(lambda x: x[i], starts)
        res = jaxmle.maximize(mixture, start, data, constraints=CONS)
        np.testing.assert_allclose(ms.solutions.params["mu"][i], res.params["mu"], rtol=1e-9)
        np.testing.assert_allclose(ms.solutions.loglik[i], res.loglik, rtol=1e-12)


def test_multistart_bad_input(data):
    with pytest.raises(ValueError, match="needs n_starts= and key="):
        jaxmle.multistart(mixture, sampler, data, constraints=CONS)
    with pytest.raises(ValueError, match="same leading"):
        jaxmle.multistart(mixture, {"w": jnp.ones(3) * 0.5, "mu": jnp.zeros((2, 2)), "sigma": jnp.ones((3, 2))},
                          data, constraints=CONS)
    with pytest.raises(ValueError, match="n_starts= and key= are for a start sampler"):
        jaxmle.multistart(mixture, {"w": jnp.full(2, 0.5), "mu": jnp.zeros((2, 2)), "sigma": jnp.ones((2, 2))}, data,
                          n_starts=5, constraints=CONS)
    with pytest.raises(ValueError, match="every start is outside the support"):
        jaxmle.multistart(mixture, {"w": jnp.full(2, 1.5), "mu": jnp.zeros((2, 2)), "sigma": jnp.ones((2, 2))}, data,
                          constraints=CONS)


def test_a_first_start_outside_the_support_is_a_failed_start(data):
    # as documented: starts outside the support are failed starts, whichever position they have
    starts = {"w": jnp.array([1.5, 0.6]), "mu": jnp.array([[-2.5, 2.5], [-2.5, 2.5]]), "sigma": jnp.ones((2, 2))}
    ms = jaxmle.multistart(mixture, starts, data, constraints=CONS)
    assert list(ms.converged) == [False, True] and ms.best.converged


def test_first_call_compiles_one_program_and_best_is_the_fit_from_its_start(data):
    # The best optimum's result (covariance, diagnostics) is a slice of the batch, not a second
    # solve: a first call compiles one program, and a second call none (before, each call compiled
    # the vmapped solve again, then maximize's fit). 3 starts, robust covariance, weights: shapes and
    # options no other test uses. The best equals maximize from the start that reached it.
    starts = {"w": np.array([0.6, 0.5, 0.3]), "mu": np.array([[-2.5, 2.5], [8.0, 9.0], [2.0, -1.0]]),
              "sigma": np.ones((3, 2))}
    weights = np.random.default_rng(1).integers(1, 3, data.size).astype(float)
    run = lambda: jaxmle.multistart(mixture, starts, data, constraints=CONS, cov_type="robust", weights=weights)
    first, ms = compiled_during(run)
    again, _ = compiled_during(run)
    assert (first, again) == (["jit(_fit_batch)"], [])
    i = int(np.nanargmax(np.where(ms.converged, ms.solutions.log_posterior, np.nan)))
    start = jax.tree_util.tree_map(lambda x: x[i], starts)
    ref = jaxmle.maximize(mixture, start, data, constraints=CONS, cov_type="robust", weights=weights)
    best = ms.best
    assert (best.converged, best.n_iter, best.cov_type, best.wnobs) == (True, ref.n_iter, "robust", weights.sum())
    np.testing.assert_allclose(best.loglik, ref.loglik, rtol=1e-12)
    for name in CONS:
        np.testing.assert_allclose(best.params[name], ref.params[name], rtol=1e-9)
    np.testing.assert_allclose(best.cov, ref.cov, rtol=1e-7)
    np.testing.assert_allclose(best.hessian, ref.hessian, rtol=1e-7)
