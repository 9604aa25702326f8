"""Properties of the ready-made models (``jaxmle.models``): simulators, expected information,
the formula path and the ``Model`` contract.

* ``simulate`` draws data whose refit recovers the truth: every model is simulated at known
  parameters, R = 5 independent data sets of n = 400 (2000 observations in all, five times the
  reference tests' sample) and refitted; the mean of the R estimates must lie within 4.5 standard
  errors of the mean (``sqrt(sum se_r^2) / R``) of the truth (P(|z| > 4.5) ~ 7e-6 per parameter;
  the seeds are fixed anyway). Replicates of the reference tests' shapes, rather than one data
  set of 2000, reuse the solvers compiled there: a new shape would compile twelve more.
* ``expected_info`` equals the observed information exactly where theory says so (canonical links;
  the Gaussian at its MLE) and approximately (summed over the replicates) elsewhere.
* ``design(formula, frame)`` followed by ``fit`` gives the array path's numbers.
"""

from __future__ import annotations

import sys
import warnings

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

import jaxmle
from jaxmle import models

N = 400  # the shapes of tests/test_models_reference.py, whose compiled solvers are reused
R = 5  # replicate data sets per model
RNG = np.random.default_rng(20240614)
X = np.column_stack([np.ones(N), RNG.normal(size=N), RNG.uniform(-1.0, 1.0, size=N)])
CENSOR_TIME = RNG.uniform(0.5, 6.0, size=N)  # potential censoring time of every unit

# name: (factory, truth, template data whose "y" (and "censored") the simulator replaces)
SURVIVAL = {"y": np.ones(N), "censored": np.zeros(N), "censor_time": CENSOR_TIME}
CASES = {
    "gaussian": (models.gaussian, {"beta": [1.0, 2.0, -1.5], "sigma": 1.3}, {}),
    "laplace": (models.laplace, {"b": 0.8, "beta": [1.0, 2.0, -1.5]}, {}),
    "student_t": (models.student_t, {"beta": [1.0, 2.0, -1.5], "nu": 4.0, "sigma": 0.7}, {}),
    "logit": (models.logit, {"beta": [-0.4, 0.9, -0.7]}, {}),
    "probit": (models.probit, {"beta": [0.3, -0.6, 0.8]}, {}),
    "mnlogit": (models.mnlogit, {"beta": [[0.2, -0.3], [0.8, -0.5], [0.4, 0.6]]}, {"y": np.zeros(N, np.int32)}),
    "poisson": (models.poisson, {"beta": [0.6, 0.4, -0.5]}, {}),
    "negative_binomial": (models.negative_binomial, {"alpha": 0.6, "beta": [0.8, 0.5, -0.4]}, {}),
    "gamma": (models.gamma, {"beta": [0.5, 0.6, -0.8], "shape": 2.5}, {}),
    "exponential": (models.exponential, {"beta": [0.5, 0.3, -0.6]}, SURVIVAL),
    "weibull": (models.weibull, {"beta": [0.5, 0.3, -0.6], "shape": 1.7}, SURVIVAL),
    "normal_mixture": (models.normal_mixture,
                       {"beta": [[-1.0, 2.0], [0.5, -0.5], [0.0, 0.0]], "pi": 0.4, "sigma": [0.7, 1.0]}, {}),
}
WITH_EXPECTED = [name for name, (factory, _, _) in CASES.items() if factory().expected_info is not None]


def _truth(name):
    return {k: np.asarray(v, dtype=np.float64) for k, v in CASES[name][1].items()}


def _template(name):
    return {"X": X, "y": np.zeros(N), **CASES[name][2]}


def _fit_data(data):
    """What the model reads: ``censor_time`` is for the simulator only (and leaving it out gives
    the data structure of the reference tests, so their compiled solvers are reused)."""
    return {k: v for k, v in data.items() if k != "censor_time"}


def _flat(tree):
    """Flat values in ``res.names`` order (leaves of the params pytree, raveled)."""
    return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in jax.tree_util.tree_leaves(tree)])


def _simulate(model, params, data, seed):
    with jax.enable_x64(True):
        out = model.simulate(jax.tree_util.tree_map(jnp.asarray, params), jax.random.key(seed), data)
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def replicates():
    """``get(name) -> (model, [(data, res)] * R)``: data simulated at the truth and their refits."""
    cache = {}

    def get(name):
        if name not in cache:
            model = CASES[name][0]()
            reps = []
            for r in range(R):
                data = _simulate(model, _truth(name), _template(name), seed=100 * r + list(CASES).index(name))
                reps.append((data, models.fit(model, _fit_data(data))))
            cache[name] = (model, reps)
        return cache[name]

    return get


@pytest.fixture(scope="module", params=list(CASES))
def simulated(request, replicates):
    return (request.param, *replicates(request.param))


# ----------------------------------------------------------------------------------------------
# simulate: the refit recovers the truth
# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
# Limits: a Student-t tends to the Gaussian (nu -> inf), NB2 to the Poisson (alpha -> 0)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [0.5, 1.0, 3.0, 17.0])
@pytest.mark.parametrize("x", [0.3, 5.0, 99.9, 100.0, 100.1, 1e3, 1e6, 1e12, 1e16])
def test_log_gamma_ratio_and_its_derivative_are_exact(a, x):
    # log G(x + a) - log G(x): for integer a the exact sum of log(x + j), j < a, and derivative
    # sum 1 / (x + j); for a = 1/2 the two half steps make one whole: r(1/2, x) + r(1/2, x + 1/2)
    # = log x, and up to x = 1e4 scipy's betaln (log G(1/2) - betaln(1/2, x); it errs by 1e-9 at 1e6).
    from scipy import special

    from jaxmle.models._model import log_gamma_ratio

    with jax.enable_x64(True):
        value, slope = jax.value_and_grad(log_gamma_ratio, argnums=1)(jnp.float64(a), jnp.float64(x))
        half_more = log_gamma_ratio(jnp.float64(0.5), jnp.float64(x + 0.5))
    if a == 0.5:
        assert_allclose(value + half_more, np.log(x), rtol=1e-14, atol=2e-13)  # below x = 100: 2 eps x log x
        if x <= 1e4:
            assert_allclose(value, special.gammaln(0.5) - special.betaln(0.5, x), rtol=1e-12, atol=1e-12)
    else:
        j = np.arange(int(a))
        assert_allclose(value, np.sum(np.log(x + j)), rtol=1e-14, atol=1e-14)
        assert_allclose(slope, np.sum(1.0 / (x + j)), rtol=1e-12)


def _limit_fits(kind):
    """(general fit, limit fit, limit's parameter name): a Student-t on light-tailed data (errors
    uniform, excess kurtosis -1.2: nu -> inf) and the Gaussian; an NB2 on underdispersed counts
    (binomial: alpha -> 0) and the Poisson. The general model's log-likelihood can only approach
    the limit's from below."""
    rng = np.random.default_rng(8)
    if kind == "t":
        y = X @ np.array([1.0, 2.0, -1.5]) + rng.uniform(-1.0, 1.0, size=N)
        general, limit, name = models.student_t(), models.gaussian(), "nu"
    else:
        y = rng.binomial(4, 0.5, size=N).astype(float)
        general, limit, name = models.negative_binomial(), models.poisson(), "alpha"
    data = {"X": X, "y": y}
    with pytest.warns(jaxmle.BoundaryWarning, match=name):
        res = models.fit(general, data)
    return res, models.fit(limit, data), name


@pytest.mark.parametrize("kind", ["t", "nb2"])
def test_limit_of_a_model_is_reported_on_the_boundary_with_the_limits_loglik(kind):
    res, limit, name = _limit_fits(kind)
    assert res.boundary == (name,) and np.isnan(res.stderr[name])
    # within rounding of the limit's maximum, never above it (the plain log-gamma difference put the
    # t's loglik 0.9 per observation above the Gaussian's at nu = 1e15)
    assert limit.loglik - 1e-6 <= res.loglik <= limit.loglik + 1e-9 * abs(limit.loglik)
    assert_allclose(res.params["beta"], limit.params["beta"], rtol=1e-5, atol=1e-6)


def test_simulate_keeps_structure_shapes_and_dtypes(simulated):
    name, _, reps = simulated
    data, template = reps[0][0], _template(name)
    assert set(data) == set(template)
    for key, value in template.items():
        assert data[key].shape == np.shape(value), key
        assert data[key].dtype == np.asarray(value).dtype, key


def test_simulated_refits_converged(simulated):
    _, _, reps = simulated
    assert all(res.converged for _, res in reps), [res.status for _, res in reps]


def test_simulated_refits_recover_truth(simulated):
    name, _, reps = simulated
    mean = np.mean([_flat(res.params) for _, res in reps], axis=0)
    se_mean = np.sqrt(np.sum([_flat(res.stderr) ** 2 for _, res in reps], axis=0)) / R
    z = (mean - _flat(_truth(name))) / se_mean
    assert np.all(np.abs(z) < 4.5), dict(zip(reps[0][1].names, np.round(z, 2)))


@pytest.mark.parametrize("name", ["exponential", "weibull"])
def test_simulated_censoring_follows_censor_time(replicates, name):
    data = replicates(name)[1][0][0]
    cens = data["censored"] == 1.0
    assert_allclose(data["y"][cens], CENSOR_TIME[cens], rtol=0)  # censored: y is the censoring time
    assert np.all(data["y"][~cens] <= CENSOR_TIME[~cens])  # events happen before it
    assert 0.05 < cens.mean() < 0.6  # the design censors a real share


@pytest.mark.parametrize("factory", [models.exponential, models.weibull])
def test_simulate_warns_when_it_cannot_reproduce_censoring(factory):
    # Censored data without censor_time: the draws are uncensored (a parametric bootstrap would
    # understate the variance). Warned when some observation is censored, not for an all-zero indicator.
    model, params = factory(), _truth(factory().name)
    with pytest.warns(jaxmle.JaxmleWarning, match='no "censor_time"'):
        _simulate(model, params, {"X": X, "y": np.ones(N), "censored": (np.arange(N) % 3 == 0).astype(float)}, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _simulate(model, params, {"X": X, "y": np.ones(N), "censored": np.zeros(N)}, 0)


def test_parametric_bootstrap_with_model_simulate(replicates):
    # The simulator runs traced inside the vectorized bootstrap (keys batched by vmap); it gets the
    # full data, censor_time included, so every replicate is censored like the original.
    model, reps = replicates("weibull")
    data, res = reps[0]
    boot = jaxmle.bootstrap(model.loglik, res, data, n_boot=64, key=jax.random.key(1), kind="parametric",
                            simulate=model.simulate)
    assert boot.n_failed == 0
    # 64 replicates: the bootstrap SE has ~9% Monte Carlo error; agree with oim within 35%.
    assert_allclose(_flat(boot.stderr), _flat(res.stderr), rtol=0.35)


# ----------------------------------------------------------------------------------------------
# expected_info: equal to the observed information where theory says so, close to it for large n
# ----------------------------------------------------------------------------------------------
EXACT = ["gaussian", "logit", "mnlogit", "poisson"]  # canonical links; the Gaussian at its MLE


def _expected_at(model, res, data, weights=None):
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(jnp.asarray, res.params)
        return np.asarray(model.expected_info(params, data, weights=weights))


def _opg_at(model, res, data):
    """sum_i s_i s_i' of the per-observation scores in the flat constrained parameters."""
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(jnp.asarray, res.params)
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        scores = jax.jacfwd(lambda th: model.loglik(unravel(th), data))(flat)
        return np.asarray(scores.T @ scores)


@pytest.mark.parametrize("name", EXACT)
def test_expected_info_equals_observed(replicates, name):
    model, reps = replicates(name)
    data, res = reps[0]
    assert_allclose(_expected_at(model, res, data), -res.hessian, rtol=1e-8, atol=1e-8 * np.abs(res.hessian).max())


@pytest.mark.parametrize("name", [n for n in WITH_EXPECTED if n not in EXACT])
def test_expected_info_close_to_observed(replicates, name):
    # Non-canonical models: observed and expected information differ by O(1/sqrt(n)) relative;
    # summed over the R replicates (n = 2000 in all) and compared on the unit-diagonal scale of
    # the expected information, within 0.1. The Laplace model's (smoothed) Hessian is not its
    # information: there the OPG is the comparison, and it is noisier: its b element
    # sum_i (|r_i|/b - 1)^2 / b^2 has relative sd sqrt(8 / 2000) = 0.063 (|r|/b ~ Exp(1), whose
    # (E - 1)^2 has variance 8), hence 0.25 (4 sd).
    model, reps = replicates(name)
    expected = sum(_expected_at(model, res, _fit_data(data)) for data, res in reps)
    if name == "laplace":
        observed = sum(_opg_at(model, res, _fit_data(data)) for data, res in reps)
    else:
        observed = sum(-res.hessian for _, res in reps)
    d = 1.0 / np.sqrt(np.diag(expected))
    deviation = np.max(np.abs((expected - observed) * d[:, None] * d[None, :]))
    assert deviation < (0.25 if name == "laplace" else 0.1), deviation


@pytest.mark.parametrize("name", WITH_EXPECTED)
def test_expected_info_is_symmetric_positive_definite_at_start(replicates, name):
    model, reps = replicates(name)
    data = _fit_data(reps[0][0])
    start = model.start(data)
    with jax.enable_x64(True):
        info = np.asarray(model.expected_info(jax.tree_util.tree_map(jnp.asarray, start), data))
    k = _flat(start).size
    assert info.shape == (k, k)
    assert_allclose(info, info.T, rtol=1e-12, atol=0)
    assert np.linalg.eigvalsh(info).min() > 0


@pytest.mark.parametrize("name", WITH_EXPECTED)
def test_expected_info_weights_equal_repeated_rows(replicates, name):
    # Frequency weights w_i count observation i w_i times.
    model, reps = replicates(name)
    data = _fit_data(reps[0][0])
    sub = {k: v[:200] for k, v in data.items()}
    w = np.arange(200) % 3 + 1.0
    rows = np.repeat(np.arange(200), w.astype(int))
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(jnp.asarray, model.start(sub))
        weighted = np.asarray(model.expected_info(params, sub, weights=jnp.asarray(w)))
        repeated = np.asarray(model.expected_info(params, {k: v[rows] for k, v in sub.items()}))
    assert_allclose(weighted, repeated, rtol=1e-10, atol=1e-12 * np.abs(repeated).max())


# ----------------------------------------------------------------------------------------------
# design(formula, frame): the formula path equals the array path
# ----------------------------------------------------------------------------------------------
def _pandas():
    return pytest.importorskip("pandas")


def _frame(data):
    columns = {k: v for k, v in _fit_data(data).items() if k != "X"}
    return _pandas().DataFrame({"x1": data["X"][:, 1], "x2": data["X"][:, 2], **columns})


def test_fit_passes_chunk_size(replicates):
    model, reps = replicates("logit")
    data, res = reps[0]
    chunked = models.fit(model, _fit_data(data), chunk_size=150)  # (n = 400: a padded last chunk)
    assert_allclose(_flat(chunked.params), _flat(res.params), rtol=1e-10)
    assert_allclose(chunked.cov, res.cov, rtol=1e-8)


@pytest.mark.parametrize("name", ["logit", "weibull"])
def test_formula_fit_equals_array_fit(replicates, name):
    pytest.importorskip("formulaic")
    model, reps = replicates(name)
    data, res = reps[0]
    extra = ("censored",) if name == "weibull" else ()
    fdata, names = models.design("y ~ x1 + x2", _frame(data), extra=extra)
    assert names == ["Intercept", "x1", "x2"]
    assert_allclose(_flat(models.fit(model, fdata).params), _flat(res.params), rtol=1e-12, atol=0)


def test_design_names_label_the_fit_as_statsmodels_does(replicates):
    # res.rename({"beta": columns}) puts a formula's column names on the fit: its table, its
    # conf_int/to_frame index and the names wald_test reads are statsmodels' formula API's.
    pytest.importorskip("formulaic")
    smf = pytest.importorskip("statsmodels.formula.api")
    model, reps = replicates("logit")
    data, _ = reps[0]
    frame = _frame(data)
    fdata, columns = models.design("y ~ x1 + x2", frame)
    res = models.fit(model, fdata).rename({"beta": columns})
    ref = smf.logit("y ~ x1 + x2", frame).fit(disp=0, method="newton", tol=1e-12)
    table = res.to_frame()
    assert list(res.names) == list(table.index) == list(ref.params.index) == ["Intercept", "x1", "x2"]
    assert_allclose(table["coef"], ref.params, rtol=1e-7)
    assert_allclose(table["std err"], ref.bse, rtol=1e-6)
    ours, theirs = jaxmle.wald_test(res, "x1 = 0, x2 = 0"), ref.wald_test("x1 = 0, x2 = 0", scalar=True)
    assert_allclose(ours.statistic, float(np.squeeze(theirs.statistic)), rtol=1e-6)
    assert "Intercept" in str(res.summary()) and "beta[0]" not in str(res.summary())
    assert_allclose(res.conf_int(), models.fit(model, fdata).conf_int(), rtol=0)  # only the labels change


def test_rename_checks_its_names(replicates):
    _, reps = replicates("weibull")  # beta (3,) and shape
    res = reps[0][1]
    assert res.names == ("beta[0]", "beta[1]", "beta[2]", "shape")
    assert res.rename({"shape": "k"}).names == ("beta[0]", "beta[1]", "beta[2]", "k")
    assert res.rename(["a", "b", "c", "d"]).names == ("a", "b", "c", "d")
    with pytest.raises(ValueError, match=r"rename: 'beta' has 3 element\(s\), but 2 name\(s\) were given"):
        res.rename({"beta": ["a", "b"]})
    with pytest.raises(ValueError, match=r"rename: \['scale'\] are not leaf labels of params; the labels are \['beta', 'shape'\]"):
        res.rename({"scale": "s"})
    with pytest.raises(ValueError, match=r"rename: res has 4 parameters .* but 3 names were given"):
        res.rename(["a", "b", "c"])
    with pytest.raises(ValueError, match=r"rename: the names must be distinct; \['a'\] repeat"):
        res.rename({"beta": ["a", "b", "c"], "shape": "a"})


def test_formula_categorical_response_gives_codes(replicates):
    pytest.importorskip("formulaic")
    model, reps = replicates("mnlogit")
    data, res = reps[0]
    frame = _frame(data).assign(y=np.array(["a", "b", "c"])[data["y"]])  # level "a" is the reference
    fdata, _ = models.design("y ~ x1 + x2", frame)
    assert_allclose(fdata["y"], data["y"], rtol=0)
    assert_allclose(models.fit(model, fdata).params["beta"], res.params["beta"], rtol=1e-12, atol=0)


def test_formula_drops_incomplete_rows_and_aligns_extra():
    pytest.importorskip("formulaic")
    frame = _pandas().DataFrame(
        {"y": [1.0, 2.0, np.nan, 4.0], "x": [0.5, np.nan, 1.5, 2.0], "censored": [0, 1, 0, 1]}, index=[10, 11, 12, 13])
    data, names = models.design("y ~ x", frame, extra="censored")
    assert names == ["Intercept", "x"]
    assert_allclose(data["y"], [1.0, 4.0])
    assert_allclose(data["X"], [[1.0, 0.5], [1.0, 2.0]])
    assert_allclose(data["censored"], [0, 1])
    # the frame's own column, two rows too long: the error says how to carry it through design
    for kw in ({"cov_type": "cluster", "cluster": frame["censored"]}, {"weights": np.ones(4)}):
        with pytest.raises(ValueError, match=r"2 fewer rows: if it was built by jaxmle.models.design.*extra="):
            models.fit(models.poisson(), data, **kw)


def test_formula_without_response_raises():
    pytest.importorskip("formulaic")
    with pytest.raises(ValueError, match="no response"):
        models.design("~ x", _pandas().DataFrame({"x": [1.0, 2.0]}))


def test_design_without_formulaic_raises_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "formulaic", None)  # makes `import formulaic` fail
    with pytest.raises(ImportError, match=r"pip install 'jaxmle\[formula\]'"):
        models.design("y ~ x", _pandas().DataFrame({"y": [1.0, 2.0], "x": [1.0, 2.0]}))


# ----------------------------------------------------------------------------------------------
# The Model contract and fit's checks
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_model_documents_parameterisation_and_loss(name):
    model = CASES[name][0]()
    assert isinstance(model, models.Model) and model.name == name
    assert "Parameters" in model.doc and "Loss" in model.doc


def test_models_compare_equal_so_compiled_solvers_are_shared():
    assert models.logit() == models.logit()
    assert models.laplace() == models.laplace(smoothing=1e-6)
    assert models.laplace(smoothing=1e-4) != models.laplace()
    assert hash(models.laplace().loglik) == hash(models.laplace().loglik)


def test_fit_refuses_fisher_without_expected_info():
    data = {"X": X, "y": np.ones(N)}
    with pytest.raises(ValueError, match="negative_binomial model does not have"):
        models.fit(models.negative_binomial(), data, method="fisher")


def test_fit_refuses_hessian_covariance_for_laplace():
    data = {"X": X, "y": X[:, 1]}
    with pytest.raises(ValueError, match="non-smooth laplace"):
        models.fit(models.laplace(), data, cov_type="oim")


def test_fit_needs_a_model():
    with pytest.raises(TypeError, match="jaxmle.models.Model"):
        models.fit(lambda p, d: d["y"], {"X": X, "y": X[:, 1]})


@pytest.mark.parametrize(("factory", "y", "extra", "match"), [
    (models.logit, np.full(N, 2.0), {}, "0/1"),
    (models.gamma, np.zeros(N), {}, "positive"),
    (models.poisson, -np.ones(N), {}, "non-negative"),
    (models.mnlogit, np.full(N, 0.5), {}, "category codes"),
    (models.weibull, np.ones(N), {"censored": np.ones(N)}, "every observation is censored"),
    (models.poisson, np.full(N, 1.5), {}, r"must be counts \(non-negative integers\).*y\[0\] = 1.5"),
    (models.negative_binomial, np.full(N, 2.5), {}, "must be counts"),
    (models.poisson, np.zeros(N), {}, "is 0 for every observation"),
    (models.mnlogit, 2.0 * (np.arange(N) % 2), {}, r"no observation of category \[1\] of 0..2"),
])
def test_start_rejects_invalid_responses(factory, y, extra, match):
    with pytest.raises(ValueError, match=match):
        factory().start({"X": X, "y": y, **extra})


def test_fit_names_bad_data_before_computing_a_start():
    # NaN in the data: the message maximize gives, not a complaint about a start the user never passed
    y = np.r_[np.nan, np.ones(N - 1)]
    with pytest.raises(ValueError, match=r"data\['y'\] contains NaN/inf in 1 value"):
        models.fit(models.poisson(), {"X": X, "y": y})


def test_start_needs_x_and_y():
    with pytest.raises(ValueError, match='"X"'):
        models.poisson().start({"y": np.ones(3)})
