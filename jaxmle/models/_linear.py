"""Location-scale regressions: Gaussian (MSE), Laplace (MAE / LAD) and Student t.

All three model ``y_i = x_i' beta + scale * e_i`` with a symmetric error density; the data are
``{"X": (n, p), "y": (n,)}``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import special, stats

from ._model import (Model, assemble_info, design_matrix, log_gamma_ratio, lstsq, replace_y, response, total_weight,
                     weighted_gram)


def _ols_start(data):
    x, y = design_matrix(data), response(data)
    beta = lstsq(x, y)
    resid = y - x @ beta
    floor = 1e-12 * max(1.0, float(np.max(np.abs(y))))  # a perfect fit would give a scale of 0
    return x, y, beta, resid, floor


# ------------------------------------------------------------------------------------------------
# Gaussian linear regression
# ------------------------------------------------------------------------------------------------
def _gaussian_loglik(params, data):
    """log N(y_i | x_i' beta, sigma^2), shape (n,)."""
    return stats.norm.logpdf(data["y"], data["X"] @ params["beta"], params["sigma"])


def _gaussian_start(data):
    """The MLE itself: OLS beta and sigma = sqrt(ssr / n)."""
    _, _, beta, resid, floor = _ols_start(data)
    return {"beta": beta, "sigma": np.asarray(max(float(np.sqrt(np.mean(resid**2))), floor))}


def _gaussian_expected_info(params, data, weights=None):
    """beta: X'WX / sigma^2; sigma: 2 sum(w) / sigma^2; no cross term."""
    sigma = params["sigma"]
    x = data["X"]
    return assemble_info(params, {
        ("beta", "beta"): weighted_gram(x, None, weights) / sigma**2,
        ("sigma", "sigma"): 2.0 * total_weight(data, weights) / sigma**2,
    })


def _gaussian_simulate(params, key, data):
    mu = data["X"] @ params["beta"]
    return replace_y(data, mu + params["sigma"] * jax.random.normal(key, mu.shape, mu.dtype))


def gaussian() -> Model:
    """Gaussian linear regression: ``y_i ~ N(x_i' beta, sigma^2)``.

    Parameters: ``beta`` (p,), ``sigma`` > 0 (the standard deviation, not the variance).
    Loss: for fixed sigma, the negative log-likelihood is ``sum_i (y_i - x_i' beta)^2 / (2 sigma^2)``
    plus a constant, i.e. least squares (MSE); beta-hat is OLS and ``sigma-hat^2 = SSR / n`` (the
    MLE, not statsmodels' ``SSR / (n - p)``). Expected information: ``X'X / sigma^2`` and
    ``2 n / sigma^2``. The start is the closed-form MLE.
    """
    return Model(
        name="gaussian", loglik=_gaussian_loglik, start=_gaussian_start, constraints={"sigma": "positive"},
        expected_info=_gaussian_expected_info, simulate=_gaussian_simulate, doc=gaussian.__doc__,
    )


# ------------------------------------------------------------------------------------------------
# Laplace (least absolute deviations)
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _LaplaceLoglik:
    """Laplace log density with |r| replaced by ``b sqrt((r/b)^2 + h^2)`` (h = smoothing).

    A frozen dataclass (hashable by value), so every ``laplace(smoothing=h)`` with the same h
    shares compiled solvers."""

    smoothing: float
    # not twice differentiable at the optimum (see laplace()): maximize refuses the covariances
    # from its observed information, as models.fit does (Model.smooth)
    smooth: ClassVar[bool] = False

    def __call__(self, params, data):
        mu = data["X"] @ params["beta"]
        b = params["b"]
        if self.smoothing == 0.0:
            return stats.laplace.logpdf(data["y"], mu, b)
        u = (data["y"] - mu) / b
        h = self.smoothing
        return -jnp.log(2.0 * b) - jnp.sqrt(u**2 + h**2)


def _laplace_start(data):
    """Least-absolute-deviations by iteratively reweighted least squares (a few steps), b = mean |r|."""
    x, y, beta, resid, floor = _ols_start(data)
    for _ in range(30):
        w = 1.0 / np.maximum(np.abs(resid), 1e-6 * (np.mean(np.abs(resid)) + floor))
        beta = np.linalg.solve(x.T @ (w[:, None] * x), x.T @ (w * y))
        resid = y - x @ beta
    return {"b": np.asarray(max(float(np.mean(np.abs(resid))), floor)), "beta": beta}


def _laplace_expected_info(params, data, weights=None):
    """beta: X'WX / b^2 (the score of the location is sign(r) / b); b: sum(w) / b^2."""
    b = params["b"]
    x = data["X"]
    return assemble_info(params, {
        ("beta", "beta"): weighted_gram(x, None, weights) / b**2,
        ("b", "b"): total_weight(data, weights) / b**2,
    })


def _laplace_simulate(params, key, data):
    mu = data["X"] @ params["beta"]
    return replace_y(data, mu + params["b"] * jax.random.laplace(key, mu.shape, mu.dtype))


def laplace(smoothing: float = 1e-6) -> Model:
    """Laplace (double-exponential) regression: ``y_i ~ Laplace(x_i' beta, b)``, density ``exp(-|r|/b) / (2b)``.

    Parameters: ``b`` > 0 (scale; ``E|r| = b``, sd ``sqrt(2) b``), ``beta`` (p,). Loss: the negative
    log-likelihood is ``sum_i |y_i - x_i' beta| / b`` plus ``n log(2b)``: least absolute deviations
    (MAE), so beta-hat is median regression (statsmodels ``QuantReg(q=0.5)``) and ``b-hat = mean |r|``.

    The LAD objective is not differentiable where a residual is 0, and at the optimum p residuals
    are exactly 0, so Newton's method cannot be applied to it directly. With ``smoothing=h > 0``
    (default 1e-6) the model uses ``|r| ~ b sqrt((r/b)^2 + h^2)``, which exceeds |r| by at most
    ``h b`` (at r = 0) and by ``h^2 b^2 / (2 |r|)`` elsewhere: Newton then converges, the estimates
    agree with the exact LAD solution to about ``h`` relative to b (measured 1e-7 to 1e-6), and the
    log-likelihood is below the exact one by about ``p h`` (the p zero residuals) plus
    ``sum h^2 b / (2 |r_i|)``, with no bias growing with n. ``smoothing=0`` gives the exact density
    (for evaluation; Newton will not converge on it).

    Covariance: the observed information of a (nearly) piecewise-linear loss says nothing about the
    sampling variance, so :func:`jaxmle.models.fit` reports ``cov_type="expected"``: the inverse
    expected information ``b^2 (X'X)^-1`` (beta; the LAD asymptotic variance ``(X'X)^-1 / (4 f(0)^2)``
    with Laplace errors) and ``b^2 / n`` (b), and refuses oim/robust/cluster. Fit with Newton (the
    default): Fisher scoring's metric ``X'X / b^2`` misses the sharp curvature at the zero residuals,
    so scoring only creeps towards the optimum.
    """
    smoothing = float(smoothing)
    if not smoothing >= 0.0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing!r}")
    return Model(
        name="laplace", loglik=_LaplaceLoglik(smoothing), start=_laplace_start, constraints={"b": "positive"},
        expected_info=_laplace_expected_info, simulate=_laplace_simulate, cov_type="expected", smooth=False,
        doc=laplace.__doc__,
    )


# ------------------------------------------------------------------------------------------------
# Student t regression
# ------------------------------------------------------------------------------------------------
def _student_t_loglik(params, data):
    """log t_nu((y_i - x_i' beta) / sigma) - log sigma, shape (n,) (scipy's ``t.logpdf``).

    The normalising constant's ``log G((nu+1)/2) - log G(nu/2)`` is :func:`log_gamma_ratio`: as a
    plain difference of log-gammas it loses eps nu log(nu) of absolute accuracy (0.9 per observation
    at nu = 1e15, where Gaussian-looking data send nu); so computed, the log-likelihood and its
    derivatives stay accurate as nu -> infinity (the Gaussian limit)."""
    nu, sigma = params["nu"], params["sigma"]
    z = (data["y"] - data["X"] @ params["beta"]) / sigma
    const = log_gamma_ratio(0.5, 0.5 * nu) - 0.5 * jnp.log(jnp.pi * nu) - jnp.log(sigma)
    return const - 0.5 * (nu + 1.0) * jnp.log1p(z * z / nu)


T_START_DF = 5.0


def _student_t_start(data):
    """OLS beta, sigma = 1.4826 * MAD of the residuals (robust to the heavy tails), nu = 5."""
    _, _, beta, resid, floor = _ols_start(data)
    mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    return {"beta": beta, "nu": np.asarray(T_START_DF), "sigma": np.asarray(max(mad, floor))}


def _student_t_expected_info(params, data, weights=None):
    """Lange, Little & Taylor (1989, JASA 84, eq. for the univariate case), per observation:

        I_beta  = (nu+1) / ((nu+3) sigma^2) x x'
        I_sigma = 2 nu / ((nu+3) sigma^2),   I_sigma,nu = -2 / ((nu+1)(nu+3) sigma)
        I_nu    = [trigamma(nu/2) - trigamma((nu+1)/2)] / 4 - (nu+5) / (2 nu (nu+1)(nu+3))

    and no beta-sigma or beta-nu terms (the score of beta is odd in the residual)."""
    sigma, nu = params["sigma"], params["nu"]
    x = data["X"]
    n = total_weight(data, weights)
    i_nu = 0.25 * (special.polygamma(1, nu / 2.0) - special.polygamma(1, (nu + 1.0) / 2.0)) - (nu + 5.0) / (
        2.0 * nu * (nu + 1.0) * (nu + 3.0)
    )
    return assemble_info(params, {
        ("beta", "beta"): weighted_gram(x, None, weights) * (nu + 1.0) / ((nu + 3.0) * sigma**2),
        ("sigma", "sigma"): n * 2.0 * nu / ((nu + 3.0) * sigma**2),
        ("nu", "sigma"): n * -2.0 / ((nu + 1.0) * (nu + 3.0) * sigma),
        ("nu", "nu"): n * i_nu,
    })


def _student_t_simulate(params, key, data):
    mu = data["X"] @ params["beta"]
    return replace_y(data, mu + params["sigma"] * jax.random.t(key, params["nu"], mu.shape, mu.dtype))


def student_t() -> Model:
    """Student t regression: ``(y_i - x_i' beta) / sigma ~ t_nu``.

    Parameters: ``beta`` (p,), ``nu`` > 0 (degrees of freedom), ``sigma`` > 0 (scale, not the standard
    deviation: ``Var(y) = sigma^2 nu / (nu - 2)`` for nu > 2). Loss: the negative log-likelihood
    ``(nu+1)/2 sum_i log(1 + r_i^2 / (nu sigma^2)) + n log sigma + ...``, a redescending robust loss
    (large residuals are down-weighted). Expected information in closed form (Lange, Little and
    Taylor, 1989). A nu diverging to infinity (Gaussian data) is reported by a BoundaryWarning.
    """
    return Model(
        name="student_t", loglik=_student_t_loglik, start=_student_t_start,
        constraints={"nu": "positive", "sigma": "positive"}, expected_info=_student_t_expected_info,
        simulate=_student_t_simulate, doc=student_t.__doc__,
    )
