"""Bad input gets a clear error naming the argument and what was expected."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxmle

from . import zoo

DATA = zoo.draw(0)
LOGIT = DATA["logistic"]
START = {"beta": jnp.zeros(3)}


def total_loglik(params, data):
    return jnp.sum(zoo.logistic(params, data))


def wrong_shape(params, data):
    return zoo.logistic(params, data)[:-1]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"data": {"X": LOGIT["X"], "y": LOGIT["y"][:-10]}}, ValueError, r"data\['y'\] has leading axis 190, expected n=200 \(from data\['X'\]\)"),
        ({"data": {"X": np.where(np.eye(zoo.N, 3) > 0, np.nan, LOGIT["X"]), "y": LOGIT["y"]}}, ValueError, r"data\['X'\] contains .*NaN/inf"),
        ({"data": {"X": jnp.asarray(np.where(np.eye(zoo.N, 3) > 0, np.nan, LOGIT["X"])), "y": LOGIT["y"]}}, ValueError,
         r"data\['X'\] contains NaN/inf in 3 value\(s\) \(first rows \[0, 1, 2\]\)"),
        ({"method": "newtonn"}, ValueError, "method: unknown 'newtonn'"),
        ({"method": 3}, TypeError, "method must be a string or an optax"),
        ({"cov_type": "hc3"}, ValueError, "cov_type: unknown 'hc3'"),
        ({"constraints": {"beta": "postive"}}, ValueError, "unknown support 'postive'"),
        ({"constraints": {"gamma": "positive"}}, ValueError, r"constraints names \['gamma'\]"),
        ({"cov_type": "cluster", "cluster": np.arange(5)}, ValueError, r"cluster has shape \(5,\), expected \(200,\)"),
        ({"cov_type": "cluster"}, ValueError, "needs cluster= labels"),
        ({"cluster": np.arange(zoo.N)}, ValueError, "cov_type='cluster'"),
        ({"weights": np.ones(3)}, ValueError, r"weights has shape \(3,\), expected \(200,\)"),
        ({"weights": -np.ones(zoo.N)}, ValueError, "non-negative"),
        ({"options": {"max_halving": 3}}, ValueError, r"options: unknown key\(s\) \['max_halving'\]"),
        ({"method": "fisher"}, ValueError, "needs expected_info"),
        ({"max_iter": -1}, ValueError, "max_iter must be a non-negative integer"),
        ({"tol": 0.0}, ValueError, "tol must be a positive number"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float64' or 'float32'"),
        ({"fixed": {"beta": [True, False]}}, ValueError, r"fixed for 'beta' has shape \(2,\)"),
        ({"fixed": {"beta": True}}, ValueError, "every parameter is fixed"),
        ({"cov_type": "cluster", "cluster": np.where(np.arange(zoo.N) < 5, np.nan, np.arange(zoo.N) % 7)}, ValueError,
         "cluster has 5 missing labels"),
        ({"cov_type": "cluster", "cluster": np.array([None] + ["a", "b"] * 99 + ["c"], dtype=object)}, ValueError,
         "cluster has 1 missing labels"),
        ({"options": {"max_halvings": -1}}, ValueError, r"options\['max_halvings'\] must be an integer >= 0, got -1"),
        ({"method": "lbfgs", "options": {"memory_size": 2.5}}, ValueError, r"options\['memory_size'\] must be an integer >= 1"),
        ({"tol": np.inf}, ValueError, "tol must be a positive number"),
        ({"log_prior": lambda p: -0.5 * p["beta"] ** 2}, ValueError, r"log_prior returned shape \(3,\); expected a scalar"),
        ({"method": "fisher", "expected_info": lambda p, d: jnp.eye(2)}, ValueError,
         r"expected_info returned shape \(2, 2\); expected an array of shape \(3, 3\)"),
        ({"method": "fisher", "expected_info": lambda p, d: {"beta": {"beta": jnp.eye(3)}}}, ValueError,
         r"expected_info returned a dict; expected an array of shape \(3, 3\)"),
        ({"weights": np.zeros(zoo.N)}, ValueError, "weights are all zero"),
        ({"data": {"X": LOGIT["X"][:0], "y": LOGIT["y"][:0]}}, ValueError, "data has 0 observations"),
        ({"data": {"X": LOGIT["X"], "y": LOGIT["y"].tolist()}}, ValueError,
         r"data\['y'\]\[0\] is a scalar.*a Python list or tuple of numbers .* np.asarray"),
        ({"data": {**LOGIT, "when": np.arange(zoo.N).astype("datetime64[D]")}}, TypeError,
         r"data\['when'\] has dtype datetime64\[D\]; data leaves must be numeric"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, match):
    kwargs = dict(kwargs)
    data = kwargs.pop("data", LOGIT)
    with pytest.raises(exc, match=match):
        jaxmle.maximize(zoo.logistic, START, data, **kwargs)


@pytest.mark.parametrize(
    "params0, exc, match",
    [
        ({"beta": jnp.zeros(3, dtype=jnp.int32)}, TypeError, r"params0\['beta'\] has dtype int32"),
        ({"beta": np.zeros(3, dtype=np.int64)}, TypeError, "has dtype int64"),
        ({"beta": 1}, TypeError, "is the integer 1"),
        ({"beta": "a"}, TypeError, "is a str"),
    ],
)
def test_bad_params(params0, exc, match):
    with pytest.raises(exc, match=match):
        jaxmle.maximize(zoo.logistic, params0, LOGIT)


def test_start_outside_support():
    with pytest.raises(ValueError, match=r"params0\['lam'\] is outside its support positive: must be > 0"):
        jaxmle.maximize(zoo.poisson, {"lam": -1.0}, DATA["poisson"], constraints={"lam": "positive"})
    with pytest.raises(ValueError, match="must be positive and sum to 1"):
        jaxmle.maximize(zoo.categorical, {"p": jnp.full(4, 0.3)}, DATA["categorical"], constraints={"p": "simplex"})
    with pytest.raises(ValueError, match=r"strictly inside \(0.0, 1.0\)"):
        jaxmle.maximize(zoo.bernoulli, {"p": 1.0}, DATA["bernoulli"], constraints={"p": "unit_interval"})


def test_loglik_of_integer_dtype():
    with pytest.raises(TypeError, match="loglik returned dtype int32; expected real floating-point"):
        jaxmle.maximize(lambda p, d: jnp.zeros(zoo.N, jnp.int32) + (p["beta"][0] > 0), START, LOGIT)


def test_loglik_wrong_shape():
    with pytest.raises(ValueError, match=r"loglik returned shape \(199,\); expected .* \(200,\) or a scalar"):
        jaxmle.maximize(wrong_shape, START, LOGIT)


@pytest.mark.parametrize("method", ["newton", "bhhh", "bfgs", optax.adam(0.1)])
def test_nonfinite_loglik_at_start_names_observations(method):
    # the check runs only after a solve that stopped at once on a non-finite objective: every
    # solver family must stop there (a missed check would return a fit, not raise)
    x = DATA["exponential"].copy()
    x[[7, 9]] = -1.0  # outside the support of the exponential: log density -inf
    with pytest.raises(ValueError, match=r"not finite at params0 for 2 observation\(s\) \(first indices \[7, 9\]\)"):
        jaxmle.maximize(zoo.exponential, {"rate": 1.0}, x, constraints={"rate": "positive"}, method=method)


def test_nonfinite_scalar_loglik_or_log_prior_at_start():
    def scalar_with_log(params, data):  # -inf at beta[0] = 0
        return total_loglik(params, data) + jnp.log(params["beta"][0])

    with pytest.raises(ValueError, match="loglik is not finite at params0; choose another start"):
        jaxmle.maximize(scalar_with_log, START, LOGIT)
    with pytest.raises(ValueError, match="log_prior is not finite at params0"):
        jaxmle.maximize(zoo.logistic, START, LOGIT, log_prior=lambda p: jnp.log(p["beta"][0]))


@pytest.mark.parametrize(
    "kwargs",
    [{"cov_type": "opg"}, {"cov_type": "robust"}, {"method": "bhhh"}, {"weights": np.ones(zoo.N)},
     {"cov_type": "cluster", "cluster": np.arange(zoo.N) % 5}],
)
def test_scalar_loglik_refuses_features_needing_contributions(kwargs):
    with pytest.raises(ValueError, match="needs per-observation contributions, but loglik returns a scalar"):
        jaxmle.maximize(total_loglik, START, LOGIT, **kwargs)


def test_scalar_loglik_is_accepted_for_oim():
    res = jaxmle.maximize(total_loglik, START, LOGIT)
    ref = jaxmle.maximize(zoo.logistic, START, LOGIT)
    np.testing.assert_allclose(res.params["beta"], ref.params["beta"], rtol=1e-10)
    np.testing.assert_allclose(res.cov, ref.cov, rtol=1e-8)
    assert res.nobs == zoo.N


def test_pandas_dataframe_becomes_dict_of_columns():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": DATA["poisson"]})

    def ll(params, data):
        return zoo.poisson(params, data["x"])

    res = jaxmle.maximize(ll, {"lam": 1.0}, frame, constraints={"lam": "positive"})
    np.testing.assert_allclose(res.params["lam"], DATA["poisson"].mean(), rtol=1e-8)
    twice = pd.concat([frame, frame], axis=1)  # two columns named "x": which one would d["x"] be?
    with pytest.raises(ValueError, match=r"repeated column names \['x'\]"):
        jaxmle.maximize(ll, {"lam": 1.0}, twice, constraints={"lam": "positive"})
    # without data the sample size is unknown: no BIC (log n) rather than n = 1
    quad = jaxmle.maximize(lambda p, d: -jnp.sum((p["m"] - 1.0) ** 2), {"m": jnp.zeros(2)})
    assert quad.nobs is None and np.isnan(quad.bic) and np.isfinite(quad.aic)


def test_too_few_clusters_for_the_parameters_warn():
    # 3 clusters, 3 parameters: the cluster covariance has rank <= 2
    with pytest.warns(jaxmle.JaxmleWarning, match="3 clusters for 3 free parameters: .* rank at most 2"):
        jaxmle.maximize(zoo.logistic, START, LOGIT, cov_type="cluster", cluster=np.arange(zoo.N) % 3)


def test_a_start_with_a_nan_gradient_is_refused_naming_the_observations():
    # finite contributions, but sqrt(r**2) has no derivative where r = 0 (0/0): the fit could not
    # take a step, and ended "not converged after 0 iterations" with a HessianWarning about a NaN
    # eigenvalue (probe 7); now an error naming the rows and what to do
    x = np.linspace(-1.0, 1.0, 20)
    y = 2.0 + x
    y[[2, 5]] = 0.0  # residual exactly 0 at the start a = b = 0

    def lad(p, d):
        return -jnp.sqrt((d["y"] - p["a"] - p["b"] * d["x"]) ** 2)

    with pytest.raises(ValueError, match=r"gradient is not, for 2 observation\(s\) \(first indices \[2, 5\]\)"):
        jaxmle.maximize(lad, {"a": 0.0, "b": 0.0}, {"x": x, "y": y})


def test_the_laplace_loglik_by_hand_refuses_curvature_covariances():
    # maximize(m.loglik, ...) for the LAD model gave oim standard errors ~80x too small (the
    # smoothed kinks' curvature), with no warning; models.fit refuses them, and so does maximize now
    m = jaxmle.models.laplace()
    data = {"X": LOGIT["X"], "y": LOGIT["y"]}
    for cov_type in ("oim", "robust"):
        with pytest.raises(ValueError, match="non-smooth log-likelihood.*cov_type='expected'"):
            jaxmle.maximize(m.loglik, m.start(data), data, constraints=m.constraints, cov_type=cov_type)
