"""Log-link regressions for counts and positive responses: Poisson, negative binomial (NB2), gamma.

Data: ``{"X": (n, p), "y": (n,)}``; the mean is ``mu_i = exp(x_i' beta)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import special, stats

from ._model import (Model, assemble_info, design_matrix, log_gamma_ratio, lstsq, replace_y, response, total_weight,
                     weighted_gram)


def _glm_log_start(data):
    """The GLM start for a log link: regress log((y + mean(y)) / 2) on X (as statsmodels' GLM).
    ValueError unless y holds counts (non-negative integers), not all 0."""
    x, y = design_matrix(data), response(data)
    if np.any(y < 0) or np.any(y != np.round(y)):
        bad = int(np.argmax((y < 0) | (y != np.round(y))))
        raise ValueError(f'data["y"] must be counts (non-negative integers) for a count model; y[{bad}] = {float(y[bad]):g}')
    if not np.any(y > 0):
        raise ValueError('data["y"] is 0 for every observation: the MLE of a log-link mean is at -infinity '
                         "(no finite maximum)")
    return x, y, lstsq(x, np.log((y + y.mean()) / 2.0))


# ------------------------------------------------------------------------------------------------
# Poisson
# ------------------------------------------------------------------------------------------------
def _poisson_loglik(params, data):
    """log Poisson(y_i | mu_i), mu_i = exp(x_i' beta)."""
    return stats.poisson.logpmf(data["y"], jnp.exp(data["X"] @ params["beta"]))


def _poisson_start(data):
    return {"beta": _glm_log_start(data)[2]}


def _poisson_expected_info(params, data, weights=None):
    """X' diag(w mu) X (canonical link: equal to the observed information)."""
    return assemble_info(params, {("beta", "beta"): weighted_gram(data["X"], jnp.exp(data["X"] @ params["beta"]), weights)})


def _poisson_simulate(params, key, data):
    mu = jnp.exp(data["X"] @ params["beta"])
    return replace_y(data, jax.random.poisson(key, mu, mu.shape))


def poisson() -> Model:
    """Poisson regression: ``y_i ~ Poisson(exp(x_i' beta))``.

    Parameters: ``beta`` (p,), log-rate coefficients. Loss: the Poisson deviance (up to terms free of
    beta, the negative log-likelihood is ``sum_i mu_i - y_i log mu_i``). statsmodels ``Poisson``.
    Expected information ``X' diag(mu) X`` (= observed, canonical link).
    """
    return Model(
        name="poisson", loglik=_poisson_loglik, start=_poisson_start, expected_info=_poisson_expected_info,
        simulate=_poisson_simulate, doc=poisson.__doc__,
    )


# ------------------------------------------------------------------------------------------------
# Negative binomial (NB2)
# ------------------------------------------------------------------------------------------------
def _nb2_loglik(params, data):
    """NB2: nbinom(y | size = 1/alpha, prob = 1 / (1 + alpha mu)), so E y = mu, Var y = mu + alpha mu^2.

    ``log G(y + 1/alpha) - log G(1/alpha)`` is :func:`log_gamma_ratio`: as a plain difference of
    log-gammas it loses eps / alpha of absolute accuracy (0.9 per thousand observations at
    alpha = 1e-12, where equidispersed counts send alpha); so computed, with ``y log(alpha mu)``
    written as ``y (log alpha + eta)``, the log-pmf tends smoothly to the Poisson's as alpha -> 0."""
    y, alpha = data["y"], params["alpha"]
    eta = data["X"] @ params["beta"]
    log1p_amu = jnp.log1p(alpha * jnp.exp(eta))
    return (log_gamma_ratio(y, 1.0 / alpha) - special.gammaln(y + 1.0) + y * (jnp.log(alpha) + eta - log1p_amu)
            - log1p_amu / alpha)


def _nb2_start(data):
    """Poisson GLM start for beta; alpha by moments, sum((y - mu)^2 - mu) / sum(mu^2), floored at 0.05."""
    x, y, beta = _glm_log_start(data)
    mu = np.exp(x @ beta)
    alpha = np.sum((y - mu) ** 2 - mu) / np.sum(mu**2)
    return {"alpha": np.asarray(max(float(alpha), 0.05)), "beta": beta}


def _nb2_simulate(params, key, data):
    """Gamma-Poisson mixture: lambda_i = mu_i * alpha * Gamma(1/alpha), y_i ~ Poisson(lambda_i)."""
    k_gamma, k_pois = jax.random.split(key)
    mu = jnp.exp(data["X"] @ params["beta"])
    alpha = params["alpha"]
    lam = mu * alpha * jax.random.gamma(k_gamma, 1.0 / alpha, mu.shape, mu.dtype)
    return replace_y(data, jax.random.poisson(k_pois, lam, mu.shape))


def negative_binomial() -> Model:
    """Negative binomial regression, NB2: ``E y_i = mu_i = exp(x_i' beta)``, ``Var y_i = mu_i + alpha mu_i^2``.

    Parameters: ``alpha`` > 0 (overdispersion; the Poisson is the limit alpha -> 0, reported as a
    BoundaryWarning), ``beta`` (p,). The pmf is scipy's ``nbinom(y; n=1/alpha, p=1/(1+alpha mu))``.
    Loss: the NB2 negative log-likelihood (statsmodels ``NegativeBinomial(loglike_method="nb2")``,
    whose params are ordered ``[beta..., alpha]``; here the names are ``alpha, beta[0], ...``).
    No closed-form expected information: the alpha element is an infinite series
    (``E[sum_{j<y} (j / (1 + alpha j))^2]``), so ``expected_info`` is None (use Newton or BHHH).
    """
    return Model(
        name="negative_binomial", loglik=_nb2_loglik, start=_nb2_start, constraints={"alpha": "positive"},
        simulate=_nb2_simulate, doc=negative_binomial.__doc__,
    )


# ------------------------------------------------------------------------------------------------
# Gamma with log link
# ------------------------------------------------------------------------------------------------
def _gamma_loglik(params, data):
    """Gamma(y_i | shape k, scale mu_i / k): mean mu_i = exp(x_i' beta), variance mu_i^2 / k."""
    k = params["shape"]
    return stats.gamma.logpdf(data["y"], k, scale=jnp.exp(data["X"] @ params["beta"]) / k)


def _gamma_start(data):
    """beta from regressing log y on X; shape from the Pearson moment estimate 1 / mean((y/mu - 1)^2)."""
    x, y = design_matrix(data), response(data)
    if np.any(y <= 0):
        raise ValueError('data["y"] must be positive for the gamma model')
    beta = lstsq(x, np.log(y))
    mu = np.exp(x @ beta)
    return {"beta": beta, "shape": np.asarray(1.0 / max(float(np.mean((y / mu - 1.0) ** 2)), 1e-8))}


def _gamma_expected_info(params, data, weights=None):
    """beta: k X'WX (d^2/deta^2 log f = -k y / mu has mean -k); shape: sum(w) (trigamma(k) - 1/k);
    the cross term has mean k^-1 E[y/mu - 1] = 0."""
    k = params["shape"]
    return assemble_info(params, {
        ("beta", "beta"): k * weighted_gram(data["X"], None, weights),
        ("shape", "shape"): total_weight(data, weights) * (special.polygamma(1, k) - 1.0 / k),
    })


def _gamma_simulate(params, key, data):
    k = params["shape"]
    mu = jnp.exp(data["X"] @ params["beta"])
    return replace_y(data, jax.random.gamma(key, k, mu.shape, mu.dtype) * mu / k)


def gamma() -> Model:
    """Gamma regression with log link (a GLM): ``y_i ~ Gamma(shape k, scale mu_i / k)``, ``mu_i = exp(x_i' beta)``.

    Parameters: ``beta`` (p,), ``shape`` k > 0. ``E y = mu``, ``Var y = mu^2 / k``: the GLM dispersion
    (statsmodels' ``scale``) is ``1 / k``. Loss: for fixed k the negative log-likelihood is
    ``k sum_i (y_i / mu_i + log mu_i)`` plus terms free of beta, i.e. the gamma deviance, so beta-hat
    equals statsmodels ``GLM(family=Gamma(link=Log()))``'s; k-hat is the MLE (statsmodels estimates the
    dispersion by Pearson's chi^2 / (n - p) instead). Expected information: ``k X'X`` and
    ``n (trigamma(k) - 1/k)``.
    """
    return Model(
        name="gamma", loglik=_gamma_loglik, start=_gamma_start, constraints={"shape": "positive"},
        expected_info=_gamma_expected_info, simulate=_gamma_simulate, doc=gamma.__doc__,
        hessian="batched",  # measured faster than "columns", which "auto" would pick (a scalar shape)
    )
