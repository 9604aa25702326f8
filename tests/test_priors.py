"""jaxmle.priors: ridge and (smoothed) lasso MAP fits against their closed forms; hashability.

Gaussian linear model with known noise sd SIGMA:
* normal(tau) prior: MAP = (X'X + SIGMA^2/tau^2 I)^-1 X'y, Laplace cov = (X'X/SIGMA^2 + I/tau^2)^-1;
* laplace(s) prior with an orthonormal design (Q'Q = I): the lasso is soft-thresholding of
  z = Q'y at lam = SIGMA^2 / s; the smoothed penalty's error bounds are derived in
  :func:`smoothed_lasso_bounds`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import stats

import jaxmle
from jaxmle import priors

SIGMA = 0.7
TAU = 0.5
TRACES = {"n": 0}


def gaussian_known_sigma(params, data):
    TRACES["n"] += 1  # runs only while JAX traces
    return stats.norm.logpdf(data["y"], data["X"] @ params["beta"], SIGMA)


@pytest.fixture(scope="module")
def ridge_data():
    rng = np.random.default_rng(11)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = X @ np.array([0.5, 1.0, -2.0]) + SIGMA * rng.normal(size=200)
    return {"X": X, "y": y}


@pytest.fixture(scope="module")
def ridge_fit(ridge_data):
    return jaxmle.maximize(gaussian_known_sigma, {"beta": jnp.zeros(3)}, ridge_data, log_prior=priors.normal(TAU))


def test_normal_prior_is_ridge(ridge_data, ridge_fit):
    X, y = ridge_data["X"], ridge_data["y"]
    ridge = np.linalg.solve(X.T @ X + SIGMA**2 / TAU**2 * np.eye(3), X.T @ y)
    np.testing.assert_allclose(ridge_fit.params["beta"], ridge, rtol=1e-8)


def test_normal_prior_laplace_covariance(ridge_data, ridge_fit):
    X = ridge_data["X"]
    np.testing.assert_allclose(ridge_fit.cov, np.linalg.inv(X.T @ X / SIGMA**2 + np.eye(3) / TAU**2), rtol=1e-8)


def map_opg_and_sandwich(data):
    """Closed forms at the ridge MAP: (B + I/tau^2)^-1 and the sandwich A^-1 B A^-1."""
    X, y = data["X"], data["y"]
    beta = np.linalg.solve(X.T @ X + SIGMA**2 / TAU**2 * np.eye(3), X.T @ y)
    scores = ((y - X @ beta) / SIGMA**2)[:, None] * X
    meat, bread = scores.T @ scores, np.linalg.inv(X.T @ X / SIGMA**2 + np.eye(3) / TAU**2)
    return {"opg": np.linalg.inv(meat + np.eye(3) / TAU**2), "robust": bread @ meat @ bread}


@pytest.mark.parametrize("stream", [False, True], ids=["maximize", "maximize_stream"])
def test_opg_and_sandwich_of_a_map_fit(ridge_data, stream):
    """opg adds the prior's curvature to the scores' outer product B, as "oim" and "expected"
    include it; the sandwich keeps B of the likelihood as its meat."""
    for cov_type, ref in map_opg_and_sandwich(ridge_data).items():
        if stream:
            res = jaxmle.maximize_stream(gaussian_known_sigma, {"beta": jnp.zeros(3)}, lambda: [ridge_data],
                                         log_prior=priors.normal(TAU), cov_type=cov_type)
        else:
            res = jaxmle.maximize(gaussian_known_sigma, {"beta": jnp.zeros(3)}, ridge_data, log_prior=priors.normal(TAU),
                                  cov_type=cov_type)
        np.testing.assert_allclose(res.cov, ref, rtol=1e-8)


def test_batched_opg_of_a_map_fit_adds_the_prior(ridge_data):
    solve = jaxmle.make_solver(gaussian_known_sigma, {"beta": jnp.zeros(3)}, log_prior=priors.normal(TAU), cov_type="opg")
    with jax.enable_x64(True):
        batch = solve({"beta": jnp.zeros(3)}, {k: jnp.asarray(v) for k, v in ridge_data.items()})
    np.testing.assert_allclose(batch.cov, map_opg_and_sandwich(ridge_data)["opg"], rtol=1e-8)


def test_map_information_criteria_use_the_effective_degrees_of_freedom(ridge_data, ridge_fit):
    """Ridge: df = tr(X (X'X + SIGMA^2/TAU^2 I)^-1 X'), the trace of the hat matrix."""
    X = ridge_data["X"]
    df = np.trace(X @ np.linalg.solve(X.T @ X + SIGMA**2 / TAU**2 * np.eye(3), X.T))
    assert 2.0 < df < 3.0
    np.testing.assert_allclose(ridge_fit.info["df_effective"], df, rtol=1e-8)
    np.testing.assert_allclose(ridge_fit.aic, -2 * ridge_fit.loglik + 2 * df, rtol=1e-12)
    np.testing.assert_allclose(ridge_fit.bic, -2 * ridge_fit.loglik + np.log(200) * df, rtol=1e-12)
    assert "Effective df:" in str(ridge_fit.summary())
    streamed = jaxmle.maximize_stream(gaussian_known_sigma, {"beta": jnp.zeros(3)}, lambda: [ridge_data],
                                      log_prior=priors.normal(TAU))
    np.testing.assert_allclose(streamed.info["df_effective"], df, rtol=1e-8)
    ml = jaxmle.maximize(gaussian_known_sigma, {"beta": jnp.zeros(3)}, ridge_data)
    assert "df_effective" not in ml.info
    np.testing.assert_allclose(ml.aic, -2 * ml.loglik + 6, rtol=1e-12)


def test_map_summary_and_log_prior_without_constant(ridge_fit):
    assert ridge_fit.is_map
    assert "MAP" in str(ridge_fit.summary())
    # no normalising constant: log_prior is minus the ridge penalty
    np.testing.assert_allclose(ridge_fit.log_prior, -np.sum(ridge_fit.params["beta"] ** 2) / (2 * TAU**2), rtol=1e-12)


def test_equal_priors_reuse_the_compiled_solve(ridge_data, ridge_fit):
    assert priors.normal(TAU) == priors.normal(TAU) and hash(priors.normal(TAU)) == hash(priors.normal(TAU))
    before = TRACES["n"]
    assert before > 0
    data2 = {"X": ridge_data["X"], "y": ridge_data["y"][::-1].copy()}
    jaxmle.maximize(gaussian_known_sigma, {"beta": jnp.ones(3)}, data2, log_prior=priors.normal(TAU))  # a new object
    assert TRACES["n"] == before, "an equal prior retraced the log-likelihood"


def test_priors_compare_and_hash_by_value():
    a = priors.normal(1.0, on={"beta": [False, True, True]})
    b = priors.normal(1, on={"beta": np.array([False, True, True])})
    assert a == b and hash(a) == hash(b)
    assert a != priors.normal(1.0) and priors.normal(1.0) != priors.normal(2.0)
    assert priors.laplace(1.0) != priors.normal(1.0)
    assert priors.laplace(1.0) == priors.laplace(1.0, eps=1e-6) and hash(priors.laplace(2.0)) == hash(priors.laplace(2))
    assert priors.normal(1.0, on=True) == priors.normal(1.0)
    assert repr(a) == "jaxmle.priors.normal(scale=1.0, on={'beta': [False, True, True]})"


def test_on_selects_leaves_and_elements():
    with jax.enable_x64(True):  # as inside a fit: float64
        check_on_selections()


def check_on_selections():
    params = {"beta": jnp.array([3.0, 1.0, -2.0]), "sigma": jnp.asarray(5.0)}
    np.testing.assert_allclose(priors.normal(2.0)(params), -(9 + 1 + 4 + 25) / 8)
    np.testing.assert_allclose(priors.normal(2.0, on={"beta": True})(params), -(9 + 1 + 4) / 8)
    np.testing.assert_allclose(priors.normal(2.0, on={"beta": [False, True, True]})(params), -(1 + 4) / 8)
    np.testing.assert_allclose(priors.laplace(2.0, on={"sigma": True}, eps=1e-3)(params),
                               -(np.sqrt(25 + 1e-6) - 1e-3) / 2, rtol=1e-12)
    np.testing.assert_allclose(priors.normal(1.0)(jnp.array([1.0, 2.0])), -2.5)  # a bare array


def test_laplace_default_eps_is_relative_to_scale():
    assert priors.laplace(3.0).eps == pytest.approx(3e-6, rel=1e-12)


def test_bad_prior_arguments():
    params = {"beta": jnp.zeros(3)}
    with pytest.raises(ValueError, match="scale must be a positive"):
        priors.normal(0.0)
    with pytest.raises(ValueError, match="eps must be a positive"):
        priors.laplace(1.0, eps=-1.0)
    with pytest.raises(ValueError, match="selects no parameter"):
        priors.normal(1.0, on=False)
    with pytest.raises(TypeError, match="pytree prefix"):
        priors.normal(1.0, on="beta")
    with pytest.raises(TypeError, match="bools"):
        priors.normal(1.0, on={"beta": [0, 1, 1]})
    with pytest.raises(ValueError, match=r"on names \['gamma'\]"):
        priors.normal(1.0, on={"gamma": True})(params)
    with pytest.raises(ValueError, match=r"on for 'beta' has shape \(2,\)"):
        priors.normal(1.0, on={"beta": [True, False]})(params)


# ---- Laplace prior = smoothed lasso -----------------------------------------------------------
LASSO_SCALE = 0.25  # lam = SIGMA^2 / s = 1.96: a strong prior (2.8 noise sds)
LASSO_TRUE = np.array([5.0, -4.5, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0])


@pytest.fixture(scope="module")
def lasso():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(200, LASSO_TRUE.size)))  # orthonormal columns
    y = q @ LASSO_TRUE + SIGMA * rng.normal(size=200)
    prior = priors.laplace(LASSO_SCALE)
    res = jaxmle.maximize(gaussian_known_sigma, {"beta": jnp.zeros(LASSO_TRUE.size)}, {"X": q, "y": y},
                          log_prior=prior)
    return res, q.T @ y, SIGMA**2 / LASSO_SCALE, prior.eps


def smoothed_lasso_bounds(z, lam, eps):
    """Soft-thresholding and how far the smoothed solution may lie from it.

    With Q'Q = I the MAP problem separates: maximise -(b - z)^2 / (2 SIGMA^2) - (sqrt(b^2 + eps^2) - eps) / s,
    i.e. b - z + lam b / sqrt(b^2 + eps^2) = 0 (lam = SIGMA^2 / s). For |z| = r lam <= lam (lasso: 0):
    b / sqrt(b^2 + eps^2) = (z - b) / lam has modulus <= r, so |b| <= eps r / sqrt(1 - r^2). For |z| > lam
    (lasso: sign(z)(|z| - lam)): b = z - sign(z) lam + sign(z) lam (1 - |b| / sqrt(b^2 + eps^2)), and
    0 <= 1 - |b| / sqrt(b^2 + eps^2) <= eps^2 / (2 b^2), with |b| >= |lasso|, so the error is at most
    lam eps^2 / (2 lasso^2), on the side away from 0."""
    soft = np.sign(z) * np.maximum(np.abs(z) - lam, 0.0)
    r = np.minimum(np.abs(z) / lam, 1.0)
    with np.errstate(divide="ignore"):
        bound = np.where(soft == 0, eps * r / np.sqrt(1 - r**2), lam * eps**2 / (2 * soft**2))
    return soft, bound


def test_laplace_prior_is_soft_thresholding(lasso):
    res, z, lam, eps = lasso
    soft, bound = smoothed_lasso_bounds(z, lam, eps)
    assert res.converged
    b = res.params["beta"]
    # plus the solver's own error: it stops once max_j |g_j| max(|b_j|, 1) / |f| <= tol (= 1e-10), and the
    # Hessian is diagonal, h_j = 1 / SIGMA^2 + eps^2 / (s (b_j^2 + eps^2)^1.5) (orthonormal design), so
    # |b_j - b_j*| <= tol |f| / (max(|b_j|, 1) h_j) to first order (doubled for safety)
    f = abs(res.loglik + res.log_prior)
    h = 1 / SIGMA**2 + eps**2 / (LASSO_SCALE * (b**2 + eps**2) ** 1.5)
    solver = 2 * 1e-10 * f / (np.maximum(np.abs(b), 1.0) * h)
    assert np.all(np.abs(b - soft) <= bound + solver), (b - soft, bound, solver)
    assert np.all(np.sign(b[soft != 0]) == np.sign(soft[soft != 0]))


def test_strong_laplace_prior_zeroes_irrelevant_coefficients(lasso):
    res, z, lam, eps = lasso
    b = res.params["beta"]
    irrelevant = LASSO_TRUE == 0
    assert np.all(np.abs(z[irrelevant]) < 0.95 * lam)  # the design of this test: all below the threshold
    assert np.all(np.abs(b[irrelevant]) < 10 * eps), b  # ~0, though not exactly 0 (smoothed |.|)
    assert np.all(np.abs(b[~irrelevant]) > 0.5), b
    assert "MAP" in str(res.summary())
