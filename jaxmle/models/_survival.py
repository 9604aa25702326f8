"""Parametric survival regressions with right censoring: exponential and Weibull.

Data: ``{"X": (n, p), "y": (n,) times > 0}`` plus, optionally, ``"censored"`` (n,) with 1 where
``y`` is a right-censoring time (the event happened later) and 0 for an observed event, and
``"censor_time"`` (n,), every unit's potential censoring time, used only by ``simulate``.

Both models are accelerated-failure-time regressions on the *scale*: ``scale_i = exp(x_i' beta)``
(R's ``survreg`` convention for beta; the hazard ratio of a covariate is ``exp(-shape * beta_j)``).
The contribution of observation i is ``log f(y_i)`` for an event and ``log S(y_i)`` for a
censored time.

No expected information is supplied: with censoring it depends on the censoring distribution,
which the model does not specify.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import stats

from .. import _warnings
from .._warnings import JaxmleWarning
from ._model import design_matrix, lstsq, Model, response

_EULER_GAMMA = 0.5772156649015329


def _event(data, like):
    """1 - censored (all ones when data has no "censored")."""
    if "censored" in data:
        return 1.0 - jnp.asarray(data["censored"]).astype(like.dtype)
    return jnp.ones_like(like)


def _times(data):
    x, y = design_matrix(data), response(data)
    if np.any(y <= 0):
        raise ValueError('data["y"] must hold positive survival times')
    if "censored" in data:
        c = np.asarray(data["censored"], dtype=np.float64)
        if not np.all((c == 0.0) | (c == 1.0)):
            raise ValueError('data["censored"] must be 1 (censored) or 0 (event)')
        if not np.any(c == 0.0):
            raise ValueError("every observation is censored: the model is not identified")
    return x, y


def _censor(data, t):
    """Replace ``y`` by the simulated times ``t``, censored at ``data["censor_time"]`` where given."""
    out = dict(data)
    y_dtype = jnp.asarray(data["y"]).dtype
    if "censor_time" in data:
        if "censored" not in data:
            raise ValueError('data has "censor_time" but no "censored" indicator for the simulated censoring')
        c = jnp.asarray(data["censor_time"]).astype(t.dtype)
        out["y"] = jnp.minimum(t, c).astype(y_dtype)
        out["censored"] = (t > c).astype(jnp.asarray(data["censored"]).dtype)
    else:
        out["y"] = t.astype(y_dtype)
        if "censored" in data:
            _warn_censoring_dropped(data["censored"])
            out["censored"] = jnp.zeros_like(jnp.asarray(data["censored"]))
    return out


def _warn_censoring_dropped(censored) -> None:
    """Warn that simulated times are not censored although the data may be: always when the
    indicator is traced (inside a parametric bootstrap, whose replicates would then understate the
    sampling variance of censored data), else when some observation is censored."""
    if isinstance(censored, jax.core.Tracer) or np.any(np.asarray(censored) != 0):
        _warnings.warn(
            'simulate: data has a "censored" indicator but no "censor_time", so the simulated times are not '
            'censored; give data["censor_time"] (each unit\'s potential censoring time) to reproduce the censoring, '
            'or drop "censored" for uncensored data', JaxmleWarning)


# ------------------------------------------------------------------------------------------------
# Exponential
# ------------------------------------------------------------------------------------------------
def _exponential_loglik(params, data):
    """Event: log f = -eta - y e^-eta (expon.logpdf with scale e^eta); censored: log S = -y e^-eta."""
    scale = jnp.exp(data["X"] @ params["beta"])
    y = data["y"]
    event = _event(data, y)
    return event * stats.expon.logpdf(y, scale=scale) - (1.0 - event) * y / scale


def _exponential_start(data):
    """Regress log y + Euler's gamma (E log T = log scale - gamma) on X."""
    x, y = _times(data)
    return {"beta": lstsq(x, np.log(y) + _EULER_GAMMA)}


def _exponential_simulate(params, key, data):
    scale = jnp.exp(data["X"] @ params["beta"])
    return _censor(data, scale * jax.random.exponential(key, scale.shape, scale.dtype))


def exponential() -> Model:
    """Exponential survival regression with right censoring: ``T_i ~ Exp(mean = exp(x_i' beta))``.

    Parameters: ``beta`` (p,), log mean survival time (the hazard is ``exp(-x_i' beta)``). Loss: minus
    the censored log-likelihood ``sum_i [d_i (-x_i' beta) - y_i exp(-x_i' beta)]`` (d_i = 1 for an event),
    the Poisson-regression kernel of the event counts with exposure y. With only an intercept the
    MLE is closed form: rate = events / total time. ``simulate`` draws exponential times, censored at
    ``data["censor_time"]`` when present (otherwise uncensored).
    """
    return Model(
        name="exponential", loglik=_exponential_loglik, start=_exponential_start,
        simulate=_exponential_simulate, doc=exponential.__doc__,
    )


# ------------------------------------------------------------------------------------------------
# Weibull
# ------------------------------------------------------------------------------------------------
def _weibull_loglik(params, data):
    """With z = k (log y - eta): event log f = log k - log y + z - e^z; censored log S = -e^z."""
    k = params["shape"]
    y = data["y"]
    logy = jnp.log(y)
    z = k * (logy - data["X"] @ params["beta"])
    return _event(data, y) * (jnp.log(k) - logy + z) - jnp.exp(z)


def _weibull_start(data):
    """From the Gumbel model of log T: sd(log T | x) = pi / (sqrt 6 k), E log T = x'beta - gamma / k."""
    x, y = _times(data)
    v = np.log(y)
    resid = v - x @ lstsq(x, v)
    sd = float(np.sqrt(np.mean(resid**2)))
    k = np.pi / (np.sqrt(6.0) * sd) if sd > 0 else 1.0
    return {"beta": lstsq(x, v + _EULER_GAMMA / k), "shape": np.asarray(k)}


def _weibull_simulate(params, key, data):
    """T = scale * E^(1/k), E ~ Exp(1)."""
    scale = jnp.exp(data["X"] @ params["beta"])
    e = jax.random.exponential(key, scale.shape, scale.dtype)
    return _censor(data, scale * e ** (1.0 / params["shape"]))


def weibull() -> Model:
    """Weibull survival regression with right censoring: ``S(t | x_i) = exp(-(t / exp(x_i' beta))^k)``.

    Parameters: ``beta`` (p,), the log scale (an AFT model: ``log T = x'beta + W / k`` with W standard
    Gumbel-min; R's ``survreg`` reports the same beta and ``1/k`` as its "Scale"), ``shape`` k > 0
    (k > 1: increasing hazard). The density is scipy's ``weibull_min(c=k, scale=exp(x'beta))``.
    Loss: minus the censored log-likelihood, ``log f`` for events and ``log S`` for censored times.
    The median survival time is ``exp(x'beta) (log 2)^(1/k)``. ``simulate`` censors at
    ``data["censor_time"]`` when present (otherwise uncensored).
    """
    return Model(
        name="weibull", loglik=_weibull_loglik, start=_weibull_start, constraints={"shape": "positive"},
        simulate=_weibull_simulate, doc=weibull.__doc__,
        hessian="batched",  # measured faster than "columns", which "auto" would pick (a scalar shape)
    )
