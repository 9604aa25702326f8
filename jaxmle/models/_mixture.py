"""Two-component normal mixture (of linear regressions), evaluated in log space."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import stats

from ._model import Model, design_matrix, lstsq, replace_y, response


def _mixture_loglik(params, data):
    """log(pi N(y | x'beta[:,0], sigma_0^2) + (1 - pi) N(y | x'beta[:,1], sigma_1^2)) by logaddexp."""
    mu = data["X"] @ params["beta"]
    sigma, pi = params["sigma"], params["pi"]
    y = data["y"]
    log0 = jnp.log(pi) + stats.norm.logpdf(y, mu[:, 0], sigma[0])
    log1 = jnp.log1p(-pi) + stats.norm.logpdf(y, mu[:, 1], sigma[1])
    return jnp.logaddexp(log0, log1)


def _mixture_start(data):
    """Split at the median OLS residual: component 0 the lower half, component 1 the upper; each half's
    OLS gives beta[:, j] and sigma_j; pi = 1/2."""
    x, y = design_matrix(data), response(data)
    resid = y - x @ lstsq(x, y)
    lower = resid <= np.median(resid)
    betas, sigmas = [], []
    for rows in (lower, ~lower):
        b = lstsq(x[rows], y[rows])
        betas.append(b)
        sigmas.append(max(float(np.std(y[rows] - x[rows] @ b)), 1e-3 * float(np.std(y)) + 1e-12))
    return {"beta": np.column_stack(betas), "pi": np.asarray(0.5), "sigma": np.asarray(sigmas)}


def _mixture_simulate(params, key, data):
    k_z, k_e = jax.random.split(key)
    mu = data["X"] @ params["beta"]
    sigma = params["sigma"]
    first = jax.random.bernoulli(k_z, params["pi"], mu[:, 0].shape)
    e = jax.random.normal(k_e, mu[:, 0].shape, mu.dtype)
    return replace_y(data, jnp.where(first, mu[:, 0] + sigma[0] * e, mu[:, 1] + sigma[1] * e))


def normal_mixture() -> Model:
    """Two-component normal mixture of regressions:
    ``y_i ~ pi N(x_i' beta[:, 0], sigma_0^2) + (1 - pi) N(x_i' beta[:, 1], sigma_1^2)``.

    Parameters: ``beta`` (p, 2) (column j: the coefficients of component j; with ``X`` a column of
    ones, the two means), ``pi`` in (0, 1) (weight of component 0), ``sigma`` (2,) > 0. Loss: minus
    the mixture log-likelihood, evaluated with ``logaddexp`` (no underflow far in the tails). The
    labels are fixed by the start (component 0 starts on the lower half of the OLS residuals), so
    starts, not constraints, resolve label switching. The likelihood is unbounded (a sigma -> 0 on
    one point) and has local maxima: check the fit, e.g. with ``jaxmle.multistart``. No closed-form
    expected information.
    """
    return Model(
        name="normal_mixture", loglik=_mixture_loglik, start=_mixture_start,
        constraints={"pi": "unit_interval", "sigma": "positive"}, simulate=_mixture_simulate,
        doc=normal_mixture.__doc__,
    )
