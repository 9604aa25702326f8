"""Every method reaches the same optimum; failure modes are reported, not hidden."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxmle

from . import zoo

DATA = zoo.draw(0)
LOGIT = DATA["logistic"]
START = {"beta": jnp.zeros(3)}


@pytest.fixture(scope="module")
def newton_fit():
    return jaxmle.maximize(zoo.logistic, START, LOGIT)


@pytest.mark.parametrize(
    "method, kwargs, rtol",
    [
        ("fisher", {"expected_info": zoo.logistic_expected_info}, 1e-8),
        ("bhhh", {}, 1e-7),  # BHHH converges linearly; stops at the same tol
        ("bfgs", {}, 1e-7),
        ("lbfgs", {}, 1e-7),
    ],
)
def test_methods_agree_with_newton(newton_fit, method, kwargs, rtol):
    res = jaxmle.maximize(zoo.logistic, START, LOGIT, method=method, **kwargs)
    assert res.converged, res.status
    np.testing.assert_allclose(res.params["beta"], newton_fit.params["beta"], rtol=rtol)
    np.testing.assert_allclose(res.loglik, newton_fit.loglik, rtol=1e-12)
    # whatever the optimiser, oim SEs come from the exact Hessian at the estimate
    np.testing.assert_allclose(res.stderr["beta"], newton_fit.stderr["beta"], rtol=1e-6)


def test_optax_first_order_reaches_the_optimum(newton_fit):
    res = jaxmle.maximize(zoo.logistic, START, LOGIT, method=optax.adam(0.05), max_iter=3000, tol=1e-7)
    assert res.converged, res.status
    assert res.method == "optax:scale_by_adam"  # (was "optax:chain" for every optax alias)
    # tol=1e-7 on the relative gradient bounds the error here by ~1e-6
    np.testing.assert_allclose(res.params["beta"], newton_fit.params["beta"], rtol=1e-5, atol=1e-6)


def test_expected_information_covariance_equals_oim_for_canonical_link(newton_fit):
    # For the logit (canonical) link the observed and expected information coincide.
    res = jaxmle.maximize(zoo.logistic, START, LOGIT, cov_type="expected", expected_info=zoo.logistic_expected_info)
    np.testing.assert_allclose(res.cov, newton_fit.cov, rtol=1e-8)
    # and so do the Laplace covariances of a MAP fit: the prior's curvature is added to either
    prior = jaxmle.priors.normal(0.5)
    oim = jaxmle.maximize(zoo.logistic, START, LOGIT, log_prior=prior)
    expected = jaxmle.maximize(zoo.logistic, START, LOGIT, log_prior=prior, cov_type="expected",
                               expected_info=zoo.logistic_expected_info)
    np.testing.assert_allclose(expected.cov, oim.cov, rtol=1e-8)
    assert not np.allclose(oim.cov, newton_fit.cov, rtol=1e-3)  # (the prior matters here)


@pytest.mark.parametrize("method", ["newton", "bhhh"])
def test_newton_does_not_depend_on_the_parameters_units(newton_fit, method):
    # A covariate in units 1e7 times larger (income in cents) makes its coefficient 1e7 times
    # smaller and the Hessian's eigenvalues 1e14 apart: unscaled, that reads as singular (the fit ran
    # to max_iter). The Jacobi-scaled eigenvalues do not see units: the fit is the rescaled one.
    units = np.array([1.0, 1e7, 1.0])
    scaled = {"X": LOGIT["X"] * units, "y": LOGIT["y"]}
    res = jaxmle.maximize(zoo.logistic, START, scaled, method=method)
    assert res.converged, res.status
    np.testing.assert_allclose(res.params["beta"] * units, newton_fit.params["beta"], rtol=1e-7)
    np.testing.assert_allclose(res.stderr["beta"] * units, newton_fit.stderr["beta"], rtol=1e-6)


def test_a_start_at_the_maximum_converges_in_any_units():
    # Normal data on a 1e-8 scale, started at the closed-form MLE: converged at once (the Newton
    # step is below the rounding level), SEs the closed forms sigma / sqrt(n) and sigma / sqrt(2n).
    x = DATA["normal"] * 1e-8
    mle = {"mu": x.mean(), "sigma": x.std()}
    res = jaxmle.maximize(zoo.normal, mle, x, constraints={"sigma": "positive"})
    assert res.converged and res.n_iter == 0, res.status
    np.testing.assert_allclose(res.params["mu"], mle["mu"], rtol=1e-12)
    np.testing.assert_allclose(res.stderr["mu"], mle["sigma"] / np.sqrt(x.size), rtol=1e-8)
    np.testing.assert_allclose(res.stderr["sigma"], mle["sigma"] / np.sqrt(2 * x.size), rtol=1e-8)


def test_max_iter_one_is_not_converged():
    with pytest.warns(jaxmle.ConvergenceWarning, match="iteration limit"):
        res = jaxmle.maximize(zoo.logistic, START, LOGIT, max_iter=1)
    assert not res.converged
    assert res.n_iter == 1
    assert "iteration limit" in res.status
    assert "not converged" in res.summary()


def saddle(params, data):
    """f(x, y) = -(x^2 - y^2 + y^4) per observation: a saddle at 0, maxima at y = +-1/sqrt(2)."""
    x, y = params["x"], params["y"]
    return -(x**2 - y**2 + y**4) * jnp.ones_like(data)


def test_newton_escapes_a_saddle_start():
    res = jaxmle.maximize(saddle, {"x": 0.3, "y": 0.0}, jnp.ones(4))
    assert res.converged
    np.testing.assert_allclose(abs(res.params["y"]), 1 / np.sqrt(2), rtol=1e-8)
    np.testing.assert_allclose(res.params["x"], 0.0, atol=1e-8)
    assert np.all(np.linalg.eigvalsh(res.hessian) < 0)


def test_bfgs_reports_a_saddle_it_cannot_leave():
    # Gradient methods started exactly on the saddle's stable manifold stop there; the Hessian
    # check must say so and give NaN standard errors rather than a confident answer.
    with pytest.warns(jaxmle.HessianWarning, match="not negative definite"):
        res = jaxmle.maximize(saddle, {"x": 0.3, "y": 0.0}, jnp.ones(4), method="bfgs")
    assert np.isnan(res.stderr["y"])
    assert "y" in res.unidentified


def _t_data(seed, n=200):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal(n)])
    return {"X": X, "y": X @ np.array([1.0, -0.5]) + 0.8 * rng.standard_t(5.0, n)}


def _mixture_data(seed, n=200):
    rng = np.random.default_rng(seed)
    first = rng.random(n) < 0.4
    y = np.where(first, -1.5 + 0.7 * rng.standard_normal(n), 1.5 + rng.standard_normal(n))
    return {"X": np.ones((n, 1)), "y": y}


@pytest.mark.parametrize("model, data, start", [
    ("student_t", _t_data(7), {"beta": np.zeros(2), "sigma": 1.0, "nu": 10.0}),
    ("student_t", _t_data(5), {"beta": np.zeros(2), "sigma": 5.0, "nu": 30.0}),
    ("normal_mixture", _mixture_data(1), {"beta": np.array([[0.0, 0.1]]), "pi": 0.5, "sigma": np.array([0.5, 0.5])}),
    ("normal_mixture", _mixture_data(3), {"beta": np.array([[-0.5, 0.5]]), "pi": 0.5, "sigma": np.array([0.5, 0.5])}),
])
def test_newton_from_an_indefinite_start_reaches_the_maximum(model, data, start):
    # Naive starts where the Hessian is indefinite. With |eigenvalue|-modified steps these ran off:
    # the t's degrees of freedom to 1e160 ("non-finite"), the mixture's sigma to 0 or to a false
    # "no finite maximum". The bounded step along the uphill directions reaches the maximum found
    # the model's own start.
    model = getattr(jaxmle.models, model)()
    reference = jaxmle.models.fit(model, data)
    res = jaxmle.models.fit(model, data, params0=start)
    assert reference.converged and res.converged, res.status
    np.testing.assert_allclose(res.loglik, reference.loglik, rtol=1e-12)
    for name in res.params:
        np.testing.assert_allclose(res.params[name], reference.params[name], rtol=1e-6)


def _indefinite_case(units):
    """An indefinite (4, 4) curvature in mixed units, a gradient, and its unit-free form."""
    rng = np.random.default_rng(0)
    a = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    h = (a @ np.diag([-3.0, -0.1, 2.0, 5.0]) @ a.T) * units[:, None] * units[None, :]
    return h, 50 * rng.standard_normal(4) * units  # (large enough that no top-up is added along v)


@pytest.mark.parametrize("last_move", [None, 40.0])
def test_an_indefinite_step_keeps_newton_where_the_curvature_is_positive(last_move):
    # In the Jacobi-scaled eigenbasis (computed here with NumPy): the eigenvalues below
    # |lambda_min| (the uphill and flat directions) are raised to delta, so that their part of the
    # step is no longer than the radius max(|Newton part|, 2 |last move|, 1) (scaled lengths), and
    # the others keep their Newton step unless below delta; descent; unit-free.
    from jaxmle._newton import modified_newton_direction, scaled_eigh

    units = np.array([1.0, 1e-3, 1e4, 1.0])
    h, g = _indefinite_case(units)
    z = np.zeros(4)
    s = 1 / np.sqrt(np.abs(np.diag(h)))
    move = None if last_move is None else np.full(4, last_move / 2) * s
    d = modified_newton_direction(g, scaled_eigh(h, np), z, move, xp=np)
    lam, vec = np.linalg.eigh(h * s[:, None] * s[None, :])
    along, comp = vec.T @ (s * g), vec.T @ (d / s)
    assert g @ d < 0 and lam[0] < 0
    newton = lam >= -lam[0]
    radius = max(np.linalg.norm(along[newton] / lam[newton]), 1.0, 0.0 if move is None else 2 * np.linalg.norm(move / s))
    delta = max(-lam[0], np.linalg.norm(along[~newton]) / radius)
    np.testing.assert_allclose(comp, -along / np.maximum(lam, delta), rtol=1e-10)
    assert np.linalg.norm(comp[~newton]) <= radius * (1 + 1e-12)
    assert (last_move is None) == (radius < 40)  # both cases: the radius from the Newton part, and from the move
    # the same problem in other units: the step in those units
    d_same = modified_newton_direction(g / units, scaled_eigh(h / units[:, None] / units[None, :], np), z,
                                       None if move is None else move * units, xp=np)
    np.testing.assert_allclose(d_same, d * units, rtol=1e-9)


def test_at_a_saddle_the_step_is_one_scaled_unit_along_the_negative_curvature():
    from jaxmle._newton import modified_newton_direction, scaled_eigh

    h = np.diag([4.0, -0.01])  # scaled: diag(1, -1), v = the second axis, scaled unit 1 / sqrt(0.01) = 10
    d = modified_newton_direction(np.zeros(2), scaled_eigh(h, np), np.array([0.0, 50.0]), xp=np)
    np.testing.assert_allclose(np.abs(d), [0.0, 10.0], atol=1e-12)
    # the same unit is a relative change of 10 at z = 0: shortened to 1
    d = modified_newton_direction(np.zeros(2), scaled_eigh(h, np), np.zeros(2), xp=np)
    np.testing.assert_allclose(np.abs(d), [0.0, 1.0], atol=1e-12)


@jax.custom_jvp
def _noise_pit(theta):
    """-(theta - 1)^2 / 2 - 1000, with rounding-like noise: 1e-10 higher in value at theta = 1 exactly
    (a pit in f = -loglik's noise, 45 times its rounding level), and a gradient 3e-6 off."""
    return -0.5 * (theta - 1.0) ** 2 - 1000.0 + 1e-10 * (theta == 1.0)


@_noise_pit.defjvp
def _noise_pit_jvp(primals, tangents):
    (theta,), (dtheta,) = primals, tangents
    return _noise_pit(theta), (1.0 - theta + 3e-6) * dtheta


def _noise_pit_loglik(params, data):
    return _noise_pit(params["theta"]) * data


def test_newton_stops_where_the_gradient_is_at_its_noise_level():
    # Log-likelihood terms less accurate than eps (special functions; a per-observation constant's
    # error times n) can leave gradient noise above tol (here 3e-9 relative) at a point where f's
    # noise hides any decrease: the Newton step is rejected on noise, and so is every shorter one
    # until the step is below z's rounding level, which passes and leaves z where it was (t
    # regressions with nu = 66 and 139 on Gaussian data ran to max_iter so, with 2400 halvings).
    # There the gain Newton predicts (4.5e-12) is above f's rounding level (2.2e-12) but below the
    # noise the rejected trials measured (1e-10): converged, and polished.
    res = jaxmle.maximize(_noise_pit_loglik, {"theta": 1.0}, jnp.ones(1))
    assert res.converged, res.status
    assert res.n_iter <= 2
    np.testing.assert_allclose(res.params["theta"], 1.0 + 3e-6, rtol=1e-12)  # where the gradient vanishes
    stream = jaxmle.maximize_stream(_noise_pit_loglik, {"theta": 1.0}, lambda: [np.ones(1)])  # (its own loop)
    assert stream.converged and stream.n_iter <= 2, stream.status
    np.testing.assert_allclose(stream.params["theta"], 1.0 + 3e-6, rtol=1e-12)


def collinear(params, data):
    eta = data["X"] @ params["beta"]
    return jax.scipy.stats.norm.logpdf(data["y"], eta, 1.0)


def test_non_identified_parameters_get_nan_and_a_warning():
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=zoo.N)
    X = np.column_stack([np.ones(zoo.N), x1, 2 * x1])  # beta[1], beta[2] not separately identified
    y = 1 + x1 + rng.normal(size=zoo.N)
    with pytest.warns(jaxmle.HessianWarning, match="beta\\[1\\], beta\\[2\\]"):
        res = jaxmle.maximize(collinear, START, {"X": X, "y": y})
    se = res.stderr["beta"]
    assert np.isnan(se[1]) and np.isnan(se[2])
    # the intercept is estimable: its SE is the OLS one with sigma = 1, (X0^T X0)^-1 on [1, x1]
    X0 = X[:, :2]
    np.testing.assert_allclose(se[0], np.sqrt(np.linalg.inv(X0.T @ X0)[0, 0]), rtol=1e-6)
    assert res.unidentified == ("beta[1]", "beta[2]")
    # beta[1] + 2 beta[2] (the slope on x1) is estimable: the delta method gives its variance from
    # generalized inverses, equal to the OLS slope's (sigma = 1); beta[1] alone is not estimable.
    delta = res.transform(lambda p: {"slope": p["beta"][1] + 2 * p["beta"][2], "b1": p["beta"][1],
                                     "both": p["beta"][0] + p["beta"][1] + 2 * p["beta"][2]})
    ols_cov = np.linalg.inv(X0.T @ X0)
    np.testing.assert_allclose(delta.params["slope"], np.linalg.lstsq(X0, y, rcond=None)[0][1], rtol=1e-8)
    np.testing.assert_allclose(delta.stderr["slope"], np.sqrt(ols_cov[1, 1]), rtol=1e-6)
    np.testing.assert_allclose(delta.stderr["both"], np.sqrt(ols_cov.sum()), rtol=1e-6)
    i, j = delta.names.index("both"), delta.names.index("slope")
    np.testing.assert_allclose(delta.cov[i, j], ols_cov[1, 1] + ols_cov[0, 1], rtol=1e-6)
    assert np.isnan(delta.stderr["b1"])


def test_boundary_estimate_warns():
    # All-zero counts: the Poisson MLE is lam = 0, on the boundary of "positive".
    with pytest.warns(jaxmle.BoundaryWarning, match="lam"):
        res = jaxmle.maximize(zoo.poisson, {"lam": 1.0}, jnp.zeros(zoo.N), constraints={"lam": "positive"})
    assert res.params["lam"] < 1e-10
    assert res.boundary == ("lam",)
    assert np.isnan(res.stderr["lam"])


def test_a_scale_running_to_zero_is_named_in_the_convergence_warning():
    # an exact linear fit: the normal log-likelihood rises without bound as sigma -> 0
    x = np.column_stack([np.ones(zoo.N), np.linspace(0.0, 1.0, zoo.N)])
    data = {"X": x, "y": x @ np.array([1.0, 2.0])}

    def exact(params, d):
        return zoo.normal({"mu": d["X"] @ params["beta"], "sigma": params["sigma"]}, d["y"])

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        res = jaxmle.maximize(exact, {"beta": jnp.zeros(2), "sigma": 1.0}, data, constraints={"sigma": "positive"})
    found = {w.category: str(w.message) for w in record}
    assert "sigma ran to the boundary of its support" in found[jaxmle.ConvergenceWarning]
    assert "sigma" in found[jaxmle.BoundaryWarning]
    assert not res.converged and res.boundary == ("sigma",) and res.params["sigma"] < 1e-8


def _boundary_case(model, seed):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(500), rng.standard_normal(500)])
    poisson = rng.poisson(np.exp(X @ [0.5, 0.3])).astype(float)  # (drawn first: the seeds' cases)
    y = poisson if model == "negative_binomial" else X @ [1.0, -0.5] + rng.standard_normal(500)
    return getattr(jaxmle.models, model)(), {"X": X, "y": y}


@pytest.mark.parametrize("model, seed, starts", [
    ("negative_binomial", 500, [{"beta": np.zeros(2), "alpha": 0.05}, {"beta": np.zeros(2), "alpha": 10.0}]),
    ("student_t", 501, [{"beta": np.zeros(2), "sigma": 3.0, "nu": 30.0}, {"beta": np.zeros(2), "sigma": 0.3, "nu": 3.0}]),
])
def test_a_boundary_estimate_is_reported_from_every_start(model, seed, starts):
    # NB2 on equidispersed counts (alpha -> 0) and a t on Gaussian errors (nu -> infinity): the
    # maximum is at the bound, and a fit stops where its relative gradient meets tol, alpha = 1e-11
    # from one start and 1.5e-11 from another. Flagged by |log alpha| > 25 alone, some of these fits
    # got a BoundaryWarning and some did not; the Newton step in log alpha (-1 near such a bound,
    # ~0 at an interior maximum) flags them all.
    model, data = _boundary_case(model, seed)
    name = "alpha" if "alpha" in starts[0] else "nu"
    for start in [None, *starts]:
        with pytest.warns(jaxmle.BoundaryWarning, match=name):
            res = jaxmle.models.fit(model, data, params0=start)
        assert res.converged and res.boundary == (name,), (start, res.status, res.boundary)
        assert np.isnan(res.stderr[name])


@pytest.mark.parametrize("units, support", [(1e12, "positive"), (1e-12, "positive"), (1.0, (0.0, 1e15))])
def test_an_interior_estimate_far_from_one_is_not_a_boundary(units, support):
    # sigma = 2e12 (data in small units) has u = log(sigma) = 28.3, beyond the |u| > 25 that marks a
    # bound only together with a flat log-likelihood; here the curvature in u is 2n: interior, with
    # the closed-form SE sigma / sqrt(2n).
    x = DATA["normal"] * units
    with warnings.catch_warnings():
        warnings.simplefilter("error", jaxmle.BoundaryWarning)
        res = jaxmle.maximize(zoo.normal, {"mu": x.mean(), "sigma": x.std()}, x, constraints={"sigma": support})
    assert res.converged and res.boundary == ()
    np.testing.assert_allclose(res.stderr["sigma"], x.std() / np.sqrt(2 * x.size), rtol=1e-6)


def test_perfect_separation_is_reported_not_converged():
    # y = 1 exactly when x1 > 0: the logistic log-likelihood rises towards 0 as beta[1] -> infinity,
    # so its gradient vanishes without a maximum. statsmodels raises PerfectSeparationError here;
    # jaxmle must not report a converged fit at wherever the iterations stopped.
    sep = dict(DATA["logistic"], y=(DATA["logistic"]["X"][:, 1] > 0).astype(float))
    with pytest.warns(jaxmle.ConvergenceWarning, match="no finite maximum") as record:
        res = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, sep)
    assert not res.converged and "no finite maximum" in res.status
    assert record[0].filename == __file__  # attributed to the caller's line, not to jaxmle
    # also from models.fit. On an H100, models.logit's former `y*eta - softplus(eta)` (which cancels
    # as eta grows) fell below its rounding level first and the fit stopped as a stall
    # (converged=False, NaN standard error for beta[1]); its form now cancels nothing, but no GPU
    # has run it since, so off the CPU a stall is still accepted
    diagnosis = "no finite maximum" if jax.default_backend() == "cpu" else "no finite maximum|no further decrease"
    with pytest.warns(jaxmle.ConvergenceWarning, match=diagnosis) as record:
        assert not jaxmle.models.fit(jaxmle.models.logit(), sep).converged
    assert record[0].filename == __file__
    assert abs(res.params["beta"][1]) > 10  # it was running off, as the warning says
    # BHHH stops where every probability is exactly 0 or 1 (beta ~ 3e5: gradient and Hessian exactly
    # 0), BFGS where Newton's next steps from its estimate, compared at one point, do not shrink
    # (relative to where each began, beta[2]'s growth 5 -> 6.3 made them look 16% shorter): both
    # ended converged with a HessianWarning before
    for method in ("bhhh", "bfgs"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, sep, method=method)
        assert not res.converged and "no finite maximum" in res.status, (method, res.status)
        assert jaxmle.ConvergenceWarning in {w.category for w in caught}
    # the same data with the labels of the regular fixture converge (no false alarm)
    assert jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(3)}, DATA["logistic"]).converged


def test_quasi_separation_is_not_reported_converged_by_any_method():
    # A dummy d with y = 1 wherever d = 1 (quasi-complete separation): its coefficient runs off to
    # infinity. Fisher scoring, BHHH, BFGS and L-BFGS meet their gradient test there (their curvature
    # is not the Hessian, or there is none); maximize then applies Newton's test (the next Newton
    # steps do not shrink) and reports no finite maximum. BHHH's long steps go on to where every
    # fitted probability of the d = 1 rows is exactly 1 (gradient and Hessian exactly 0 along d, no
    # Newton step to judge): there the log-likelihood is found lower behind the estimate along the
    # flat direction and level ahead of it (it used to end converged with a HessianWarning).
    X = np.column_stack([LOGIT["X"], np.zeros(zoo.N)])
    X[:20, 3] = 1.0
    data = {"X": X, "y": np.where(X[:, 3] > 0, 1.0, LOGIT["y"])}
    for method in ("newton", "fisher", "bhhh", "bfgs", "lbfgs"):
        extra = {"expected_info": zoo.logistic_expected_info} if method == "fisher" else {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(4)}, data, method=method, **extra)
        kinds = {w.category for w in caught}
        assert RuntimeWarning not in kinds, [str(w.message) for w in caught]  # (NumPy on a zero Hessian)
        assert not res.converged and "no finite maximum" in res.status, (method, res.status, kinds)
        assert res.params["beta"][3] > 10
        np.testing.assert_allclose(res.stderr["beta"][:3], [0.13, 0.13, 0.13], rtol=0.5)  # the rest is estimable


def test_a_stall_with_steps_that_do_not_shrink_is_reported_unbounded():
    # Running off to a supremum, the log-likelihood's increments eventually fall below the rounding
    # level of its sum and the line search may stall before the gradient test is met: a stall whose
    # next Newton step is as large as the last step is the same flat direction as a converged one,
    # and is reported as such; a stall whose steps were shrinking stays a stall, and a running fit is
    # left alone. (Where the curvature along the direction has underflowed to zero, there is no
    # Newton step to judge and the stall stays a stall: the H100 case noted in the test above.)
    from jaxmle import _status
    from jaxmle._layout import build_layout
    from jaxmle._newton import SecondOrderSolver

    solver, layout = SecondOrderSolver("hessian"), build_layout({"beta": np.zeros(2)}, None, None)
    z, newton = jnp.array([1.0, 30.0]), jnp.array([0.0, -1.0])  # the next Newton step moves beta[1] by 1
    with jax.enable_x64(True):
        def status(before, last_step):
            return int(solver.with_unbounded(layout, jnp.int32(before), z, newton, last_step))
        assert status(_status.STALLED, 1.0 / 30) == _status.UNBOUNDED  # last step as large: running off
        assert status(_status.CONVERGED, 1.0 / 30) == _status.UNBOUNDED
        assert status(_status.STALLED, 10.0 / 30) == _status.STALLED  # steps shrink by 10: converging
        assert status(_status.STALLED, 0.0) == _status.STALLED  # no Newton step taken yet: no ratio
        assert status(_status.RUNNING, 1.0 / 30) == _status.RUNNING
        assert status(_status.MAX_ITER, 1.0 / 30) == _status.MAX_ITER


def test_float32_newton_stops_one_step_after_the_gain_reaches_fs_rounding_level():
    # float32 with the default tol (1e-10, below float32's eps): the gradient test is out of reach,
    # and full Newton steps of the gradient's rounding noise pass the Armijo test on f's noise, so
    # from these starts a t regression wandered at 1e-6..1e-5 until max_iter (12 of 80 hard starts;
    # 27-93 iterations for many that did stop). It now stops at the point reached by a full Newton
    # step that predicted a gain below f's rounding level, with estimates and standard errors at
    # float32's accuracy (the curvature kept is the one there, not a step away: 1.6% off that way).
    data = _t_data(4)
    ref = jaxmle.models.fit(jaxmle.models.student_t(), data)
    for sigma, nu in ((0.2, 2.0), (1.0, 10.0)):
        start = {"beta": np.zeros(2), "sigma": sigma, "nu": nu}
        res = jaxmle.models.fit(jaxmle.models.student_t(), data, params0=start, dtype="float32")
        assert res.converged and res.n_iter <= 12, (start, res.status, res.n_iter)
        for name in ("beta", "sigma", "nu"):
            np.testing.assert_allclose(res.params[name], ref.params[name], atol=2e-3 * np.max(ref.stderr[name]))
            np.testing.assert_allclose(res.stderr[name], ref.stderr[name], rtol=3e-3)
    chunks = lambda: ({k: v[i:i + 50] for k, v in data.items()} for i in range(0, 200, 50))  # noqa: E731
    model = jaxmle.models.student_t()
    streamed = jaxmle.maximize_stream(model.loglik, start, chunks, constraints=model.constraints, dtype="float32")
    assert streamed.converged and streamed.n_iter <= 12, (streamed.status, streamed.n_iter)
    np.testing.assert_allclose(streamed.params["nu"], ref.params["nu"], atol=2e-3 * ref.stderr["nu"])


def test_steps_at_float32_noise_level_are_not_a_maximum_at_infinity():
    # At a float32 maximum the gradient's noise alone makes Newton steps of 1e-6..1e-5 (relative)
    # that need not shrink: for a t regression they read as "no finite maximum". The flat-step
    # threshold is sqrt(eps) of the precision there (3.5e-4), FLAT_STEP = 1e-6 in float64.
    from jaxmle import _status
    from jaxmle._layout import build_layout
    from jaxmle._newton import SecondOrderSolver

    solver, layout = SecondOrderSolver("hessian"), build_layout({"beta": np.zeros(2)}, None, None)
    with jax.enable_x64(True):
        for dtype, expected in ((jnp.float32, _status.CONVERGED), (jnp.float64, _status.UNBOUNDED)):
            z, newton = jnp.array([1.0, 3.0], dtype), jnp.array([0.0, -3e-5], dtype)  # relative 1e-5, as the last
            status = solver.with_unbounded(layout, jnp.int32(_status.CONVERGED), z, newton, jnp.asarray(1e-5, dtype))
            assert int(status) == expected, dtype
    res = jaxmle.models.fit(jaxmle.models.student_t(), _t_data(7), dtype="float32")
    assert res.converged, res.status


def test_a_flat_direction_is_not_mistaken_for_a_plateau_at_infinity():
    # Collinear covariates: the log-likelihood is constant along the null direction, so the
    # estimate's component along it (here from the start) is neither lower behind nor ahead. BHHH
    # and BFGS converge, with the HessianWarning and NaN standard errors of non-identification;
    # nor is a degenerate maximum away from the origin (-(t - 5)^4: lower on both sides) a plateau.
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=zoo.N)
    data = {"X": np.column_stack([np.ones(zoo.N), x1, 2 * x1]), "y": 1 + x1 + rng.normal(size=zoo.N)}
    for method in ("bhhh", "bfgs"):
        with pytest.warns(jaxmle.HessianWarning, match="not identified"):
            res = jaxmle.maximize(collinear, {"beta": jnp.array([0.0, 3.0, -1.0])}, data, method=method)
        assert res.converged and np.isnan(res.stderr["beta"][1]), (method, res.status)
    res = jaxmle.maximize(lambda p, x: -((p["t"] - x) ** 4), {"t": 1.0}, np.full(3, 5.0), method="bfgs")
    assert res.converged and abs(res.params["t"] - 5.0) < 1e-2


def test_degenerate_maximum_is_not_mistaken_for_separation():
    # -(t - x)^4 has a finite maximum with zero curvature: Newton converges linearly (steps shrink
    # by 2/3), which must not be reported as a maximum at infinity; nor must a Poisson group with
    # all-zero counts (its log-rate runs to -infinity) be reported as converged.
    res = jaxmle.maximize(lambda p, x: -((p["t"] - x) ** 4), {"t": 1.0}, np.zeros(3))
    assert res.converged and abs(res.params["t"]) < 1e-3
    group = np.repeat([0.0, 1.0], 10)
    counts = np.where(group == 1, 0.0, np.random.default_rng(0).poisson(2.0, 20))

    def poisson(p, d):
        eta = p["b"][0] + p["b"][1] * d["g"]
        return d["y"] * eta - jnp.exp(eta)

    with pytest.warns(jaxmle.ConvergenceWarning, match="no finite maximum"):
        res = jaxmle.maximize(poisson, {"b": jnp.zeros(2)}, {"g": group, "y": counts})
    assert not res.converged and res.params["b"][1] < -10


def test_nonfinite_trial_points_are_halved_not_propagated():
    # log(sigma) on a raw "real" sigma: a full Newton step from far away lands at sigma < 0 (NaN);
    # the line search must halve back into the domain.
    def raw_normal(params, data):
        return -jnp.log(params["sigma"]) - 0.5 * ((data - params["mu"]) / params["sigma"]) ** 2

    x = DATA["normal"]
    res = jaxmle.maximize(raw_normal, {"mu": 0.0, "sigma": 0.2}, x)
    assert res.converged
    np.testing.assert_allclose(res.params["sigma"], x.std(), rtol=1e-8)


def test_verbose_prints_an_iteration_log(capfd):
    res = jaxmle.maximize(zoo.exponential, {"rate": 1.0}, DATA["exponential"], constraints={"rate": "positive"},
                          verbose=True)
    out = capfd.readouterr().out
    assert "Iteration 0: log-likelihood" in out
    assert "Iteration 1:" in out
    # in float64: the printing callback runs on XLA's host thread, outside the scoped x64, where the
    # value used to arrive rounded to float32 (-3658.627441 for -3658.627521)
    last = [line for line in out.splitlines() if line.startswith("Iteration")][-1]
    assert float(last.split("= ")[1].split()[0]) == float(f"{res.loglik:.10g}")
    jaxmle.maximize(zoo.exponential, {"rate": 1.0}, DATA["exponential"], constraints={"rate": "positive"},
                    log_prior=jaxmle.priors.normal(10.0), verbose=True)
    assert "Iteration 0: log posterior" in capfd.readouterr().out
    # one line per iteration: a rejected trial point (log cosh from 4.5: the first full step) is not logged
    jaxmle.maximize(_log_cosh_loglik, {"theta": 4.5}, np.array([3.0]), verbose=True)
    numbers = [line.split(":")[0] for line in capfd.readouterr().out.splitlines() if line.startswith("Iteration")]
    assert len(numbers) == len(set(numbers)) == 7


def test_the_hessian_warning_of_an_unconverged_fit_does_not_diagnose_the_model():
    # stopped by max_iter at the double well's local minimum (theta = 0, log-likelihood curvature +1):
    # not a maximum of any kind, so no "not identified" / "saddle point" diagnosis of the model
    double_well = lambda p, x: x * p["theta"] ** 2 / 2 - p["theta"] ** 4 / 4  # noqa: E731
    with pytest.warns(jaxmle.HessianWarning, match="where the iterations stopped.*did not converge") as record, \
            pytest.warns(jaxmle.ConvergenceWarning):
        res = jaxmle.maximize(double_well, {"theta": 0.0}, np.ones(3), max_iter=0)
    assert not res.converged and not any("not identified" in str(w.message) for w in record)


def test_convergence_when_the_loglik_cancels_to_zero():
    # Exponential data with mean exactly 1/e: at the MLE rate e, n log(rate) - rate sum(x) = n - n = 0.
    # f is tiny by cancellation of O(n) terms, so its rounding error is ~eps n, not ~eps |f|: the
    # line search must judge decrease against the terms' magnitude or Newton stalls short of tol.
    x = DATA["exponential"] / DATA["exponential"].mean() / np.e
    res = jaxmle.maximize(zoo.exponential, {"rate": 1.0}, x, constraints={"rate": "positive"})
    assert res.converged, res.status
    assert abs(res.loglik) < 1e-9
    np.testing.assert_allclose(res.params["rate"], np.e, rtol=1e-10)


def _log_cosh_loglik(params, data):
    x = params["theta"] - data
    return -(jnp.logaddexp(x, -x) - jnp.log(2.0))  # maximum at theta = data, Newton overshoots from afar


def _backtracking_newton_reference(theta, centre, tol=1e-10, armijo=1e-4):
    """Plain damped Newton on f = log cosh(theta - centre): f at every trial, then (f, g, h) at the
    accepted point; the same Armijo rule and stopping tests as jaxmle's. Returns
    (theta, iterations, halvings)."""
    eps = np.finfo(float).eps

    def f(t):
        return np.logaddexp(t - centre, centre - t) - np.log(2.0)

    n_iter = halvings = 0
    while True:
        fx, gx, hx = f(theta), np.tanh(theta - centre), 1.0 / np.cosh(theta - centre) ** 2
        step = gx / hx
        scale = max(abs(theta), 1.0)
        if abs(gx) * scale / max(abs(fx), 1.0) <= tol or abs(step) / scale <= 10 * eps:
            return theta - step, n_iter, halvings  # (and the final Newton step)
        t = 1.0
        while not f(theta - t * step) <= fx - armijo * t * gx * step + 10 * eps * max(abs(fx), abs(f(theta - t * step))):
            t, halvings = 0.5 * t, halvings + 1
        theta, n_iter = theta - t * step, n_iter + 1


@pytest.mark.parametrize("start", [4.5, 0.2])
def test_newton_iterates_are_those_of_plain_backtracking(start):
    # jaxmle evaluates a full step with the curvature at once where its quadratic model has been
    # good, and searches on values first elsewhere: either way the accepted points, the iteration
    # count and the halvings are those of plain backtracking Newton
    centre = 3.0
    ref, n_iter, halvings = _backtracking_newton_reference(start, centre)
    res = jaxmle.maximize(_log_cosh_loglik, {"theta": start}, np.array([centre]))
    assert res.converged
    assert halvings > 0 and n_iter >= 4  # the case exercises rejected full steps
    assert (res.n_iter, res.info["n_halvings"]) == (n_iter, halvings)
    np.testing.assert_allclose(res.params["theta"], ref, rtol=1e-14)
    np.testing.assert_allclose(res.params["theta"], centre, rtol=1e-14)


def _logistic_loglik_np(beta):
    eta = np.asarray(LOGIT["X"], float) @ np.asarray(beta, float)
    y = np.asarray(LOGIT["y"], float)
    return -np.sum(y * np.logaddexp(0.0, -eta) + (1 - y) * np.logaddexp(0.0, eta))


@pytest.mark.parametrize("tol", [1.0, 1e-3])
def test_reported_loglik_is_that_of_the_estimates_at_a_loose_tol(tol):
    # The final Newton step is not evaluated; it is taken only where the gain it predicts is below
    # sqrt(eps) max(|f|, 1), so the reported log-likelihood is that of the returned estimates to
    # ~1e-8 relative. With tol=1 (met at the start) it used to move the estimates by a full Newton
    # step from the start: params and loglik described different points, 42 apart (probe 7).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jaxmle.JaxmleWarning)
        res = jaxmle.maximize(zoo.logistic, START, LOGIT, tol=tol)
    np.testing.assert_allclose(res.loglik, _logistic_loglik_np(res.params["beta"]), rtol=1e-8)


def test_an_exact_l1_penalty_stalls_at_its_kink_instead_of_converging():
    # -sum |beta| / b as the log prior (not the smoothed priors.laplace): at beta = 0 JAX's
    # derivative of |x| is +1, the Newton direction goes uphill and every trial is rejected. The
    # rejected trials' excess over f measured the kink, not f's noise, and the failed search
    # "converged" at the start (every coefficient 1/b off the lasso, no warning; probe 7). Now a
    # stall: not converged, with the log posterior of the returned point.
    rng = np.random.default_rng(0)
    X, _ = np.linalg.qr(rng.normal(size=(200, 5)))
    y = X @ np.array([3.0, -2.0, 0.0, 0.0, 0.05]) + rng.normal(size=200)
    with pytest.warns(jaxmle.ConvergenceWarning, match="no further decrease"):
        res = jaxmle.maximize(lambda p, d: -0.5 * (d["y"] - d["X"] @ p["beta"]) ** 2, {"beta": jnp.zeros(5)},
                              {"X": X, "y": y}, log_prior=lambda p: -jnp.sum(jnp.abs(p["beta"])) / 0.8)
    beta = res.params["beta"]
    assert not res.converged
    np.testing.assert_allclose(res.loglik, -0.5 * np.sum((y - X @ beta) ** 2), rtol=1e-12)


@pytest.mark.parametrize("method, prior", [("newton", None), ("bhhh", None), ("newton", jaxmle.priors.normal(0.5))])
def test_reported_loglik_is_the_loglik_at_the_estimate(method, prior):
    # second-order fits report -f of their last evaluation (before the final Newton polish step)
    # instead of evaluating again: it must equal the log-likelihood evaluated at the estimate (with
    # a prior: the log posterior minus the prior there)
    res = jaxmle.maximize(zoo.logistic, START, LOGIT, method=method, log_prior=prior)
    eta = np.asarray(LOGIT["X"], float) @ np.asarray(res.params["beta"], float)
    y = np.asarray(LOGIT["y"], float)
    at_estimate = -np.sum(y * np.logaddexp(0.0, -eta) + (1 - y) * np.logaddexp(0.0, eta))  # float64, NumPy
    np.testing.assert_allclose(res.loglik, at_estimate, rtol=1e-13)


def test_a_wall_of_non_finite_trials_is_not_called_separation():
    # A naive log(1 - sigmoid(eta)) with a misclassified high-leverage point (x = 40, y = 0): past
    # eta ~ 37 the term is log(0) = -inf, the steps towards the maximum hit that wall, and the stall
    # was judged by the flat-rise test: "no finite maximum (perfect separation)", though the data are
    # not separated and the MLE is finite (probe 7). Now the status says the trials were not finite
    # and points to log space; with jax.nn.log_sigmoid the same fit converges.
    rng = np.random.default_rng(4)
    x = rng.normal(size=400)
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-(0.5 + 3 * x)))).astype(float)
    x[0], y[0] = 40.0, 0.0
    data = {"X": np.column_stack([np.ones(400), x]), "y": y}

    def naive(p, d):
        s = jax.nn.sigmoid(d["X"] @ p["beta"])
        return d["y"] * jnp.log(s) + (1 - d["y"]) * jnp.log(1 - s)

    with pytest.warns(jaxmle.ConvergenceWarning, match="not finite.*log_sigmoid"):
        res = jaxmle.maximize(naive, {"beta": jnp.zeros(2)}, data)
    assert not res.converged and "no finite maximum" not in res.status
    assert jaxmle.maximize(zoo.logistic, {"beta": jnp.zeros(2)}, data).converged


def test_a_kink_is_not_called_a_maximum_at_infinity():
    # The exact Laplace (LAD) loss is piecewise linear in beta: Newton's steps there do not shrink
    # either, and the stall was judged by the flat-rise test ("no finite maximum"). A flat rise's
    # short rejected trials come out level with f (its increments are below the rounding level);
    # a kink's come out above it: a stall, with the HessianWarning of an unconverged fit.
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(60), rng.normal(size=60)])
    data = {"X": X, "y": X @ np.array([1.0, 2.0]) + rng.laplace(size=60)}
    with pytest.warns(jaxmle.ConvergenceWarning, match="no further decrease"), \
            pytest.warns(jaxmle.HessianWarning, match="no standard error is affected"):
        res = jaxmle.models.fit(jaxmle.models.laplace(smoothing=0.0), data)
    assert not res.converged and "no finite maximum" not in res.status
