"""The vectorized bootstrap: exactness per replicate, reproducibility, coverage, failures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import stats

import jaxmle
from jaxmle._bootstrap import _as_key, resample_indices

from . import zoo
from .compilations import compiled_during

N_LOGIT = 2000


def logistic(params, data):
    eta = data["X"] @ params["beta"]
    return data["y"] * eta - jax.nn.softplus(eta)


@pytest.fixture(scope="module")
def logit_data():
    rng = np.random.default_rng(11)
    X = np.column_stack([np.ones(N_LOGIT), rng.normal(size=(N_LOGIT, 2))])
    y = rng.binomial(1, 1 / (1 + np.exp(-X @ np.array([0.3, 0.8, -0.5])))).astype(float)
    return {"X": X, "y": y}


@pytest.fixture(scope="module")
def logit_fit(logit_data):
    return jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, logit_data)


@pytest.fixture(scope="module")
def logit_boot(logit_fit, logit_data):
    return jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=1000, key=jax.random.key(0))


def _resample_indices(key, n_boot, b, n):
    """The observations replicate b draws (the documented scheme: the hash of (b, i) mod n)."""
    with jax.enable_x64(True):
        return np.asarray(resample_indices(key, jnp.int32(b), n))


def test_resample_indices_are_uniform_and_distinct_per_replicate():
    # 200 replicates x 2000 draws: each index's total count is Binomial(4e5, 1/2000), mean 200, sd ~14.1;
    # the Pearson statistic over the 2000 cells is ~ chi2(1999): mean 1999, sd 63 -> accept +-5 sd.
    key = jax.random.key(7)
    with jax.enable_x64(True):
        draws = np.asarray(jax.jit(resample_indices, static_argnums=2)(key, jnp.arange(200, dtype=jnp.int32), N_LOGIT))
        np.testing.assert_array_equal(draws[117], np.asarray(resample_indices(key, jnp.int32(117), N_LOGIT)))
    assert draws.min() >= 0 and draws.max() < N_LOGIT
    counts = np.bincount(draws.ravel(), minlength=N_LOGIT)
    chi2 = ((counts - 200.0) ** 2 / 200.0).sum()
    assert abs(chi2 - 1999) < 5 * np.sqrt(2 * 1999)
    assert len({tuple(d[:20]) for d in draws}) == 200  # replicates do not share a stream
    with jax.enable_x64(False):  # float32 mode: 32-bit draws, still in range and uniform
        d32 = np.asarray(resample_indices(key, jnp.int32(0), N_LOGIT))
    assert d32.min() >= 0 and d32.max() < N_LOGIT and len(np.unique(d32)) > 0.6 * N_LOGIT


def test_bootstrap_se_agrees_with_oim_within_monte_carlo_error(logit_boot, logit_fit):
    # The sd of a bootstrap SE from B replicates is about SE / sqrt(2 (B - 1)): 2.2% for B = 1000.
    # Bootstrap and asymptotic SEs also differ by O(1/n) terms; allow 4 Monte Carlo sds (9%).
    ratio = logit_boot.stderr["beta"] / logit_fit.stderr["beta"]
    np.testing.assert_allclose(ratio, 1.0, atol=4 / np.sqrt(2 * 999))
    assert logit_boot.n_failed == 0
    assert logit_boot.samples["beta"].shape == (1000, 3)
    assert logit_boot.cov.shape == (3, 3)


def test_each_replicate_equals_its_explicitly_resampled_fit(logit_boot, logit_fit, logit_data):
    # Weighted likelihood with multinomial counts == fitting the resampled rows themselves: to 1e-8
    # (the bar) at the default replicate tolerance, to 1e-10 with tol=1e-10.
    tight = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=1000, key=jax.random.key(0), tol=1e-10)
    for b in [0, 1, 517]:
        idx = _resample_indices(jax.random.key(0), 1000, b, N_LOGIT)
        resampled = {"X": logit_data["X"][idx], "y": logit_data["y"][idx]}
        ref = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, resampled, tol=1e-12)
        np.testing.assert_allclose(logit_boot.samples["beta"][b], ref.params["beta"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(tight.samples["beta"][b], ref.params["beta"], rtol=0, atol=1e-10)


def test_bootstrap_of_a_frequency_weighted_fit(logit_data):
    # A fit with frequency weights f: replicate b resamples the n weighted rows, i.e. maximises
    # sum_i c_bi f_i l_i, the fit of its resampled rows with their weights (to 1e-8, as above).
    # The weights were closed over by a live float32 jit first (JAX's identity cache: regression).
    freq = 1.0 + np.arange(N_LOGIT) % 3
    with jax.enable_x64(False):
        peek = jax.jit(lambda: jnp.sum(freq * logistic({"beta": jnp.zeros(3)}, logit_data)))
        peek()
    fit = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, logit_data, weights=freq)
    boot = jaxmle.bootstrap(logistic, fit, logit_data, n_boot=50, key=jax.random.key(2), weights=freq)
    assert boot.n_failed == 0
    with pytest.raises(ValueError, match="bootstrap: the fit was made with frequency weights summing to 3999"):
        jaxmle.bootstrap(logistic, fit, logit_data, n_boot=50, key=jax.random.key(2))  # weights forgotten
    for b in [0, 33]:
        idx = _resample_indices(jax.random.key(2), 50, b, N_LOGIT)
        ref = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, {"X": logit_data["X"][idx], "y": logit_data["y"][idx]},
                              weights=freq[idx], tol=1e-12)
        np.testing.assert_allclose(boot.samples["beta"][b], ref.params["beta"], rtol=0, atol=1e-8)
    assert peek is not None


def test_bootstrap_does_not_depend_on_the_parameters_units(logit_fit, logit_data):
    # A covariate in units 1e7 times larger: every replicate is the rescaled one (the replicates'
    # starting metric is built from the Jacobi-scaled Hessian, as Newton's steps are)
    units = np.array([1.0, 1e7, 1.0])
    scaled = {"X": logit_data["X"] * units, "y": logit_data["y"]}
    fit = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, scaled)
    boot = jaxmle.bootstrap(logistic, fit, scaled, n_boot=50, key=jax.random.key(3))
    ref = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=50, key=jax.random.key(3))
    assert boot.n_failed == 0
    np.testing.assert_allclose(boot.samples["beta"] * units, ref.samples["beta"], rtol=0, atol=1e-8)


def test_a_renamed_fit_bootstraps_under_its_new_names(logit_fit, logit_data):
    renamed = logit_fit.rename({"beta": ["Intercept", "x1", "x2"]})
    boot = jaxmle.bootstrap(logistic, renamed, logit_data, n_boot=50, key=jax.random.key(3))
    ref = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=50, key=jax.random.key(3))
    assert boot.names == ("Intercept", "x1", "x2") and "x1" in str(boot.summary())
    np.testing.assert_array_equal(boot.samples["beta"], ref.samples["beta"])
    np.testing.assert_allclose(boot.conf_int(), ref.conf_int(), rtol=0)


def test_float32_replicates_stop_at_the_rounding_level_without_polish(logit_data):
    # float32 cannot reach the default 1e-8 relative gradient: replicates stop where the next
    # quasi-Newton step is below float32's rounding level of beta (as maximize's Newton does), with
    # no exact-Newton polish, and agree with float64 fits of the same resamples to float32 accuracy.
    fit32 = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, logit_data, dtype="float32")
    boot = jaxmle.bootstrap(logistic, fit32, logit_data, n_boot=40, key=jax.random.key(5))
    assert boot.n_failed == 0 and boot.n_polished == 0
    for b in [0, 17, 39]:
        with jax.enable_x64(False):  # float32 mode draws 32-bit words
            idx = np.asarray(resample_indices(jax.random.key(5), jnp.int32(b), N_LOGIT))
        ref = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, {"X": logit_data["X"][idx], "y": logit_data["y"][idx]})
        # float32 rounding of n=2000 sums: ~1e-6 relative; SEs are ~0.05
        np.testing.assert_allclose(boot.samples["beta"][b], ref.params["beta"], rtol=0, atol=2e-5)


def assert_same_replicates(chunked, whole):
    """Chunked and unchunked bootstraps draw the same replicates: bitwise on the CPU; a GPU's batched
    products may sum in another order for another batch size (1 ulp)."""
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(chunked, whole)
    else:
        np.testing.assert_allclose(chunked, whole, rtol=1e-14, atol=1e-15)


def test_reproducible_and_chunking_invariant(logit_fit, logit_data, capsys):
    a = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=50, key=jax.random.key(3))
    b = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=50, key=jax.random.key(3), chunk_size=16,
                         progress=True)
    assert "bootstrap" in capsys.readouterr().err  # the tqdm bar over the 4 chunks
    c = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=50, key=jax.random.key(4))
    assert_same_replicates(a.samples["beta"], b.samples["beta"])
    assert not np.allclose(a.samples["beta"], c.samples["beta"])


def _compiles_during(fn):
    """The number of XLA compilations while ``fn()`` runs (any thread), and its result."""
    names, out = compiled_during(fn)
    return len(names), out


def test_chunks_compile_two_programs_once_while_draws_run_ahead(logit_fit, logit_data):
    # The first chunk's counts are drawn on a second thread while the solver is compiled ahead of
    # the call (_LazyJit.warm): the call must find that compilation, the later chunks' draws (also
    # on that thread, one chunk ahead) the counts program's. So a run with new shapes compiles
    # exactly two programs, and runs again compile none. n_boot=24 in chunks of 8: shapes no other
    # test uses. Results equal an unchunked run's.
    key = jax.random.key(6)  # (made outside: its first creation compiles too)
    run = lambda: jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=24, key=key, chunk_size=8)
    first, boot = _compiles_during(run)
    again, _ = _compiles_during(run)
    assert (first, again) == (2, 0)
    ref = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=24, key=key)
    assert_same_replicates(boot.samples["beta"], ref.samples["beta"])


def test_interval_methods_shapes_and_order(logit_boot):
    for method in ["percentile", "basic", "normal", "bca"]:
        ci = logit_boot.conf_int(method=method)
        assert ci.shape == (3, 2) and np.all(ci[:, 0] < ci[:, 1]), method
    pct, basic = logit_boot.conf_int(method="percentile"), logit_boot.conf_int(method="basic")
    est = logit_boot._flat_estimate
    np.testing.assert_allclose(basic, np.stack([2 * est - pct[:, 1], 2 * est - pct[:, 0]], axis=1))
    assert "Bootstrap (nonparametric), 1000 replicates, 0 failed" in str(logit_boot.summary())
    frame = logit_boot.to_frame(method="bca")
    assert list(frame.index) == ["beta[0]", "beta[1]", "beta[2]"]


def test_a_bootstrap_result_pickles_with_its_lazy_jackknife(logit_boot):
    # the BCa acceleration's jackknife is computed on first use: a record of its inputs (it was a
    # closure, which pickle refused), whose device arrays travel as NumPy (a float64 JAX array
    # unpickled with x64 off comes back float32: the refits then moved by ~1e-8)
    import pickle

    copy = pickle.loads(pickle.dumps(logit_boot))
    np.testing.assert_array_equal(copy.flat_samples, logit_boot.flat_samples)
    np.testing.assert_array_equal(copy.acceleration, logit_boot.acceleration)
    assert copy != logit_boot and logit_boot == logit_boot  # identity equality, not an elementwise error


def exponential(params, data):
    return stats.expon.logpdf(data, scale=1.0 / params["rate"])


def test_interval_coverage_for_the_exponential_rate():
    # 150 data sets of n = 40 from rate 2; 95% intervals from B = 300 replicates each. Coverage of
    # each method must be near nominal: the Monte Carlo sd of a coverage estimate is 1.8% here and
    # bootstrap intervals for a rate with n = 40 under-cover by a few percent, so accept [0.86, 0.99].
    rng = np.random.default_rng(2)
    hits = {m: 0 for m in ["percentile", "basic", "normal", "bca"]}
    sims = 150
    for s in range(sims):
        x = rng.exponential(0.5, size=40)
        res = jaxmle.maximize(exponential, {"rate": 1.0}, x, constraints={"rate": "positive"})
        boot = jaxmle.bootstrap(exponential, res, x, n_boot=300, key=jax.random.key(s), jackknife_groups=40)
        for m in hits:
            lo, hi = boot.conf_int(method=m)[0]
            hits[m] += lo <= 2.0 <= hi
    for m, h in hits.items():
        assert 0.86 <= h / sims <= 0.99, (m, h / sims)


def simulate_poisson(params, key, data):
    return jax.random.poisson(key, params["lam"], shape=data.shape).astype(data.dtype)


def test_parametric_bootstrap_of_a_poisson_mean():
    x = zoo.draw(0)["poisson"]
    res = jaxmle.maximize(zoo.poisson, {"lam": 1.0}, x, constraints={"lam": "positive"})
    boot = jaxmle.bootstrap(zoo.poisson, res, x, n_boot=1000, key=jax.random.key(1), kind="parametric",
                            simulate=simulate_poisson)
    # Theory: lam_hat* = mean of n Poisson(lam_hat) draws: mean lam_hat, sd sqrt(lam_hat / n).
    # Monte Carlo: the sd estimate is within 3 / sqrt(2 B) ~ 7% and the mean within 3 sd / sqrt(B).
    sd = np.sqrt(res.params["lam"] / x.size)
    np.testing.assert_allclose(boot.stderr["lam"], sd, rtol=3 / np.sqrt(2000))
    assert abs(boot.samples["lam"].mean() - res.params["lam"]) < 3 * sd / np.sqrt(1000)
    assert boot.kind == "parametric"
    with pytest.raises(ValueError, match=r"simulate returned data of shape \(50,\); expected \(200,\)"):
        jaxmle.bootstrap(zoo.poisson, res, x, n_boot=10, key=1, kind="parametric",
                         simulate=lambda p, key, d: simulate_poisson(p, key, d)[:50])


def test_bca_of_a_scalar_loglik_says_it_needs_contributions():
    # A loglik returning the total can be bootstrapped parametrically, but BCa's jackknife deletes
    # observations: a clear error naming the fix, not a failure inside the jackknife's solve.
    x = zoo.draw(0)["poisson"]

    def total(params, data):
        return jnp.sum(zoo.poisson(params, data))

    res = jaxmle.maximize(total, {"lam": 1.0}, x, constraints={"lam": "positive"})
    boot = jaxmle.bootstrap(total, res, x, n_boot=20, key=1, kind="parametric", simulate=simulate_poisson)
    assert boot.n_failed == 0 and np.all(np.isfinite(boot.conf_int(method="normal")))
    with pytest.raises(ValueError, match=r"loglik returns a scalar \(the total\): return the \(n,\) vector"):
        boot.conf_int(method="bca")


def test_a_cluster_fit_bootstrapped_without_its_clusters_warns(logit_data, logit_fit):
    # the fit's cluster-robust covariance allows for within-cluster correlation; resampling single
    # observations ignores it (standard errors several times too small where it is strong)
    groups = np.arange(N_LOGIT) // 20
    clustered = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, logit_data, cov_type="cluster", cluster=groups)
    with pytest.warns(jaxmle.JaxmleWarning, match="no cluster= labels were given"):
        boot = jaxmle.bootstrap(logistic, clustered, logit_data, n_boot=1000, key=jax.random.key(0))
    assert boot.kind == "nonparametric"


def test_cluster_bootstrap_resamples_whole_clusters(logit_fit, logit_data):
    groups = np.arange(N_LOGIT) // 20  # 100 clusters of 20
    boot = jaxmle.bootstrap(logistic, logit_fit, logit_data, n_boot=200, key=jax.random.key(5), cluster=groups)
    assert boot.kind == "cluster" and boot.n_failed == 0
    # independent rows: the cluster bootstrap SE estimates the same SE (Monte Carlo 5% per 1/sqrt(2B); allow 4x)
    np.testing.assert_allclose(boot.stderr["beta"] / logit_fit.stderr["beta"], 1.0, atol=0.2)
    # BCa's acceleration comes from deleting whole clusters (the resampled unit), here 100 groups of one
    # cluster each: the delete-one-cluster jackknife, refitted with zero weights on the deleted cluster
    jack = np.array([jaxmle.maximize(logistic, logit_fit.params, logit_data, weights=(groups != c).astype(float),
                                     tol=1e-12).params["beta"] for c in range(100)])
    d = jack.mean(axis=0) - jack
    np.testing.assert_allclose(boot.acceleration, (d**3).sum(0) / (6 * (d**2).sum(0) ** 1.5), rtol=1e-5, atol=1e-8)


def test_the_replicate_solve_evaluates_the_model_at_two_sites(logit_fit, logit_data):
    # What XLA compiles grows with every copy of the model in the batched solve: the replicates'
    # solver evaluates it at two sites only, the full-sample contributions and scores (once) and
    # one gradient per loop pass (no value-and-gradient line search).
    calls = []

    def counted(params, data):
        calls.append(1)
        return logistic(params, data)

    fit = jaxmle.maximize(counted, logit_fit.params, logit_data)
    calls.clear()
    boot = jaxmle.bootstrap(counted, fit, logit_data, n_boot=8, key=jax.random.key(0))
    assert len(calls) == 2 and boot.n_polished == 0


def test_a_mixture_replicate_reaches_the_maximum_a_separate_fit_from_the_estimate_finds():
    # A two-component mixture on n = 60: some resamples have several local maxima near the
    # estimate. Each replicate must end where jaxmle.maximize of the replicate's weights, started
    # at the estimate, ends (bootstrap's contract). Replicates whose quasi-Newton steps find no
    # point that passes the gradient tests are polished by Newton from the estimate; before, such
    # steps were shortened by values, which took replicate 29 to another maximum (log-likelihood
    # -103.58) than the fit from the estimate finds (-104.34).
    model = jaxmle.models.normal_mixture()
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(60), rng.normal(size=60), rng.uniform(-1, 1, size=60)])
    truth = {"beta": [[-1.0, 2.0], [0.5, -0.5], [0.0, 0.0]], "pi": 0.4, "sigma": [0.7, 1.0]}
    with jax.enable_x64(True):
        truth = jax.tree_util.tree_map(jnp.asarray, truth, is_leaf=lambda x: isinstance(x, list))
        data = {k: np.asarray(v) for k, v in model.simulate(truth, jax.random.key(7), {"X": X, "y": np.zeros(60)}).items()}
    res = jaxmle.models.fit(model, data)
    boot = jaxmle.bootstrap(model.loglik, res, data, n_boot=32, key=3)
    assert boot.n_failed == 0 and boot.n_polished > 0
    with jax.enable_x64(True):
        counts = np.asarray(jaxmle._bootstrap.resample_counts(jax.random.key(3), jnp.arange(32, dtype=jnp.int32), 60))
    for b in range(32):
        ref = jaxmle.maximize(model.loglik, res.params, data, weights=counts[b].astype(float),
                              constraints=model.constraints, tol=1e-12)
        got = jax.tree_util.tree_map(lambda x: x[b], boot.samples)
        for name in ref.params:
            np.testing.assert_allclose(got[name], ref.params[name], rtol=0, atol=1e-6, err_msg=f"replicate {b}: {name}")


def test_failed_replicates_are_reported_and_excluded():
    # Tiny logistic data: some resamples are perfectly separated (the MLE is at infinity).
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    data = {"X": np.column_stack([np.ones(12), x]), "y": (x + rng.normal(scale=0.8, size=12) > 0).astype(float)}
    res = jaxmle.maximize(logistic, {"beta": jnp.zeros(2)}, data)
    with pytest.warns(jaxmle.ConvergenceWarning, match="bootstrap replicates did not converge"):
        boot = jaxmle.bootstrap(logistic, res, data, n_boot=200, key=jax.random.key(0), max_iter=30)
    assert 0 < boot.n_failed < 200
    assert boot.flat_samples.shape[0] == 200 - boot.n_failed
    assert np.all(np.isfinite(boot.stderr["beta"]))


def test_bootstrap_bad_input(logit_fit, logit_data):
    with pytest.raises(ValueError, match="kind: unknown 'jackknife'"):
        jaxmle.bootstrap(logistic, logit_fit, logit_data, key=0, kind="jackknife")
    with pytest.raises(ValueError, match="needs simulate="):
        jaxmle.bootstrap(logistic, logit_fit, logit_data, key=0, kind="parametric")
    with pytest.raises(ValueError, match="n=10 observations but res was fitted on nobs=2000"):
        jaxmle.bootstrap(logistic, logit_fit, {"X": logit_data["X"][:10], "y": logit_data["y"][:10]}, key=0)
    with pytest.raises(ValueError, match="n_boot must be an integer >= 2"):
        jaxmle.bootstrap(logistic, logit_fit, logit_data, key=0, n_boot=1)
    for bad in ({"jackknife_groups": 0}, {"max_iter": -5}, {"chunk_size": True}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))} must be"):
            jaxmle.bootstrap(logistic, logit_fit, logit_data, key=0, **bad)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        jaxmle.bootstrap(logistic, logit_fit, logit_data, key="seed")


@pytest.mark.parametrize("x64", [True, False])
def test_an_integer_seed_is_the_key_jax_random_key_makes(x64, monkeypatch):
    # seeds in [0, 2^32) are wrapped from NumPy (jax.random.key compiles a program on its first call
    # in a process); others go through jax.random.key
    seeds = (0, 1, 12345, 2**31 - 1, 2**31, 2**32 - 1, 2**32 + 5, -3, np.int64(7), np.uint32(9))
    with jax.enable_x64(x64):
        expected = [jax.random.key_data(jax.random.key(seed)) for seed in seeds]
        calls = []
        make_key = jax.random.key
        monkeypatch.setattr(jax.random, "key", lambda seed: calls.append(seed) or make_key(seed))
        for seed, data in zip(seeds, expected):
            key = _as_key(seed)
            assert jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
            np.testing.assert_array_equal(jax.random.key_data(key), data)
    assert calls == [2**32 + 5, -3]


def test_bootstrap_of_an_unconverged_fit_warns_and_failed_replicates_display(logit_data):
    with pytest.warns(jaxmle.ConvergenceWarning):
        rough = jaxmle.maximize(logistic, {"beta": jnp.zeros(3)}, logit_data, max_iter=1)
    with pytest.warns(jaxmle.ConvergenceWarning) as caught:
        boot = jaxmle.bootstrap(logistic, rough, logit_data, n_boot=50, key=0, max_iter=0)
    assert any("res did not converge" in str(w.message) for w in caught)
    assert boot.n_failed == 50  # no iteration allowed: every replicate fails, and is left out
    assert np.isnan(boot.stderr["beta"]).all() and np.isnan(boot.conf_int()).all() and np.isnan(boot.cov).all()
    assert "50 failed" in repr(boot)  # still displays


def test_plot_saves_a_png(logit_boot, logit_fit, tmp_path):
    pytest.importorskip("matplotlib")
    fig = logit_boot.plot(["beta[1]"], wald=logit_fit, path=tmp_path / "boot.png")
    assert (tmp_path / "boot.png").stat().st_size > 1000
    assert fig.axes[0].get_title() == "beta[1]"
