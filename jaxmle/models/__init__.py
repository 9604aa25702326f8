"""Ready-made log-likelihoods for :func:`jaxmle.maximize`.

Each function returns a :class:`Model`: the per-observation log-likelihood, data-based starting
values, parameter supports, the expected information (where it has a closed form: Fisher scoring
and ``cov_type="expected"``) and a simulator (the parametric bootstrap). Data are a dict
``{"X": (n, p), "y": (n,)}`` (plus ``"censored"`` for survival models); :func:`design` builds one
from a formula.

    model = jaxmle.models.logit()
    data = {"X": X, "y": y}
    res = jaxmle.models.fit(model, data)                             # Newton from model.start(data)
    res = jaxmle.maximize(model.loglik, model.start(data), data,     # the same, by hand
                          constraints=model.constraints, expected_info=model.expected_info)

==========================  ===============================  ===========================================
model                       parameters                       loss (negative log-likelihood)
==========================  ===============================  ===========================================
``gaussian()``              beta, sigma                      squared error (OLS)
``laplace()``               b, beta                          absolute error (LAD / median regression)
``student_t()``             beta, nu, sigma                  t (redescending robust) loss
``logit()``                 beta                             binary cross-entropy
``probit()``                beta                             binary cross-entropy, normal cdf link
``mnlogit()``               beta (p, K-1)                    categorical cross-entropy
``poisson()``               beta                             Poisson deviance
``negative_binomial()``     alpha, beta                      NB2 (Var = mu + alpha mu^2)
``gamma()``                 beta, shape                      gamma deviance, log link
``exponential()``           beta                             censored exponential survival
``weibull()``               beta, shape                      censored Weibull survival
``normal_mixture()``        beta (p, 2), pi, sigma (2,)      two-component normal mixture
==========================  ===============================  ===========================================
"""

from ._binary import logit as logit
from ._binary import mnlogit as mnlogit
from ._binary import probit as probit
from ._count import gamma as gamma
from ._count import negative_binomial as negative_binomial
from ._count import poisson as poisson
from ._design import design as design
from ._linear import gaussian as gaussian
from ._linear import laplace as laplace
from ._linear import student_t as student_t
from ._mixture import normal_mixture as normal_mixture
from ._model import Model as Model
from ._model import fit as fit
from ._survival import exponential as exponential
from ._survival import weibull as weibull

__all__ = [
    "Model",
    "fit",
    "design",
    "gaussian",
    "laplace",
    "student_t",
    "logit",
    "probit",
    "mnlogit",
    "poisson",
    "negative_binomial",
    "gamma",
    "exponential",
    "weibull",
    "normal_mixture",
]
