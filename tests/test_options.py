"""fixed, log_prior (MAP), interval supports and the cluster small-sample switch."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import statsmodels.api as sm

import jaxmle

from . import zoo

DATA = zoo.draw(0)
LOGIT = DATA["logistic"]


def test_fixed_parameter_equals_dropping_the_regressor():
    with_fixed = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, fixed={"beta": [False, True, False]})
    ref = sm.Logit(LOGIT["y"], LOGIT["X"][:, [0, 2]]).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(with_fixed.params["beta"][[0, 2]], ref.params, rtol=1e-7)
    assert with_fixed.params["beta"][1] == 0.0
    se = with_fixed.stderr["beta"]
    assert np.isnan(se[1])
    np.testing.assert_allclose(se[[0, 2]], ref.bse, rtol=1e-6)
    assert with_fixed.df_model == 2
    np.testing.assert_allclose(with_fixed.cov[1], 0.0)  # a fixed value has no sampling variance
    assert "(fixed)" in str(with_fixed.summary())


@pytest.mark.parametrize("mask", [[0, 1, 0], (False, True, False), np.array([0, 1, 0])], ids=["ints", "tuple", "array"])
def test_fixed_mask_of_an_array_leaf_may_be_ints_or_a_tuple(mask):
    ref = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, fixed={"beta": [False, True, False]})
    res = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, fixed={"beta": mask})
    np.testing.assert_array_equal(res.params["beta"], ref.params["beta"])
    assert res.df_model == 2


@pytest.mark.parametrize("mask", [[0, 2, 0], [0.0, 1.0, 0.0]], ids=["two", "floats"])
def test_fixed_mask_that_is_not_boolean_is_refused(mask):
    with pytest.raises(ValueError, match=r"fixed for 'beta' must hold booleans"):
        jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, fixed={"beta": mask})


def gaussian_known_scale(params, data):
    return zoo.normal({"mu": data["X"] @ params["beta"], "sigma": 1.0}, data["y"])


def ridge_prior(params):
    tau = 0.5
    return -0.5 * jnp.sum(params["beta"] ** 2) / tau**2


def test_map_with_gaussian_prior_is_ridge():
    X = LOGIT["X"]
    y = X @ np.array([1.0, -1.0, 0.5]) + DATA["normal"]
    res = jaxmle.maximize(gaussian_known_scale, {"beta": jnp.zeros(3)}, {"X": X, "y": y}, log_prior=ridge_prior)
    a = X.T @ X + np.eye(3) / 0.5**2
    np.testing.assert_allclose(res.params["beta"], np.linalg.solve(a, X.T @ y), rtol=1e-9)
    # Laplace covariance: inverse negative Hessian of the log posterior
    np.testing.assert_allclose(res.cov, np.linalg.inv(a), rtol=1e-9)
    assert res.is_map
    assert "MAP" in str(res.summary()) and "Laplace" in str(res.summary())
    # loglik excludes the prior; log_prior is reported separately
    np.testing.assert_allclose(res.log_prior, -0.5 * np.sum(res.params["beta"] ** 2) / 0.25, rtol=1e-10)


def beta_binomial_like(params, data):
    return zoo.bernoulli({"p": params["p"]}, data)


@pytest.mark.parametrize("support", [(0.0, 1.0), (-0.5, 1.0), (0.0, np.inf), (-np.inf, 1.0)])
def test_interval_supports(support):
    x = DATA["bernoulli"]
    res = jaxmle.maximize(beta_binomial_like, {"p": 0.5}, x, constraints={"p": support})
    p = x.mean()
    np.testing.assert_allclose(res.params["p"], p, rtol=1e-8)
    np.testing.assert_allclose(res.stderr["p"], np.sqrt(p * (1 - p) / x.size), rtol=1e-7)


def test_cluster_correction_switch():
    groups = np.arange(zoo.N) % 7
    on = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, cov_type="cluster", cluster=groups)
    off = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, cov_type="cluster", cluster=groups,
                          cluster_correction=False)
    np.testing.assert_allclose(on.cov, off.cov * 7 / 6, rtol=1e-12)
    assert on.n_groups == 7 and "Clusters:" in str(on.summary())


def test_cluster_of_singletons_is_the_sandwich():
    # With one observation per cluster and no correction, the cluster covariance is HC0.
    robust = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, cov_type="robust")
    single = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, LOGIT, cov_type="cluster",
                             cluster=np.arange(zoo.N), cluster_correction=False)
    np.testing.assert_allclose(single.cov, robust.cov, rtol=1e-10)


def test_frequency_weights_zero_drop_observations():
    w = np.ones(zoo.N)
    w[:40] = 0.0
    res = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, DATA["normal"], constraints={"sigma": "positive"},
                          weights=w, cov_type="robust")
    x = DATA["normal"][40:]
    np.testing.assert_allclose(res.params["mu"], x.mean(), rtol=1e-8)
    np.testing.assert_allclose(res.params["sigma"], x.std(), rtol=1e-8)
    # sandwich for the mean: sum (x - mu)^2 / n^2 = sigma^2 / n
    np.testing.assert_allclose(res.stderr["mu"], x.std() / np.sqrt(x.size), rtol=1e-7)


def test_cov_type_none():
    res = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, DATA["normal"], constraints={"sigma": "positive"},
                          cov_type="none")
    assert np.all(np.isnan(res.cov))
    np.testing.assert_allclose(res.params["mu"], DATA["normal"].mean(), rtol=1e-8)


def test_params0_as_a_pandas_series_names_the_parameters():
    # statsmodels users hold start values as a Series indexed by name: it fits as the dict of its
    # labels (names, constraints and the result keyed by them), for maximize, make_solver and streams
    pd = pytest.importorskip("pandas")
    x = DATA["normal"]
    start = pd.Series({"mu": 0.0, "sigma": 1.0})
    res = jaxmle.maximize(zoo.normal, start, x, constraints={"sigma": "positive"})
    ref = jaxmle.maximize(zoo.normal, {"mu": 0.0, "sigma": 1.0}, x, constraints={"sigma": "positive"})
    assert res.names == ("mu", "sigma")
    np.testing.assert_allclose(res.params["sigma"], x.std(), rtol=1e-10)
    np.testing.assert_allclose(res.cov, ref.cov, rtol=1e-12)
    solve = jaxmle.make_solver(zoo.normal, start, constraints={"sigma": "positive"})
    with jax.enable_x64(True):
        np.testing.assert_allclose(solve({"mu": 0.0, "sigma": 1.0}, x).params["mu"], x.mean(), rtol=1e-10)
    stream = jaxmle.maximize_stream(zoo.normal, start, lambda: [x[:100], x[100:]], constraints={"sigma": "positive"})
    np.testing.assert_allclose(stream.params["mu"], x.mean(), rtol=1e-10)
    with pytest.raises(ValueError, match="params0: a pandas Series needs distinct labels"):
        jaxmle.maximize(zoo.normal, pd.Series([0.0, 1.0], index=["mu", "mu"]), x)
    # without labels of its own (0..k-1, a statsmodels .params from NumPy arrays): the array of its
    # values (it was the dict {"0": ..., "1": ...}, which a loglik indexing an array cannot use)
    logit = zoo.draw(0)["logistic"]
    unlabelled = jaxmle.maximize(lambda b, d: zoo.logistic({"beta": b}, d), pd.Series(np.zeros(3)), logit)
    assert unlabelled.names == ("theta[0]", "theta[1]", "theta[2]")


def test_a_categorical_column_is_named_with_what_to_do():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"y": DATA["normal"][:6], "g": pd.Categorical(list("aabbcc"))})
    with pytest.raises(TypeError, match=r"data\['g'\] is categorical.*cat.codes"):
        jaxmle.maximize(lambda p, d: zoo.normal(p, d["y"]), {"mu": 0.0, "sigma": 1.0}, frame)


def test_an_optax_method_is_labelled_by_its_stateful_parts():
    from jaxmle._setup import _optax_parts

    assert _optax_parts(optax.adam(1e-2).init) == ["scale_by_adam"]
    assert _optax_parts(optax.chain(optax.clip(1.0), optax.sgd(0.1, momentum=0.9)).init) == ["trace"]
    assert _optax_parts(optax.lbfgs().init) == ["scale_by_lbfgs", "scale_by_zoom_linesearch"]
    assert _optax_parts(optax.sgd(0.1).init) == []  # only stateless parts: the label is "optax"


def test_clusters_of_zero_weight_are_not_counted():
    # rows of weight 0 are as if dropped: so are clusters all of whose rows weigh 0 (they counted in
    # G, and the G/(G-1) factor differed from the dropped-rows fit's; probe 7)
    logit = zoo.draw(0)["logistic"]
    groups = np.arange(zoo.N) % 20
    w = np.where(groups < 2, 0.0, 1.0)
    weighted = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, logit, weights=w, cov_type="cluster",
                               cluster=groups)
    keep = groups >= 2
    dropped = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, {k: v[keep] for k, v in logit.items()},
                              cov_type="cluster", cluster=groups[keep])
    assert weighted.n_groups == dropped.n_groups == 18
    np.testing.assert_allclose(weighted.cov, dropped.cov, rtol=1e-9)
