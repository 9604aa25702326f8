"""Asymptotic covariance of the estimates from the matrices at the optimum.

With ``A = -H`` (observed information of the free unconstrained parameters ``z``), ``B`` the
outer product of per-observation scores and ``I`` the expected information:

=============  ==============================================================================
cov_type       covariance of z
=============  ==============================================================================
``"oim"``      ``A^-1`` (inverse observed information)
``"opg"``      ``(B + P)^-1`` with ``B = sum_i w_i s_i s_i^T`` (outer product of gradients) and
               ``P`` minus the log prior's Hessian (0 without a prior: ``B^-1``)
``"robust"``   ``A^-1 B A^-1`` (Huber–White sandwich, no small-sample factor: statsmodels' HC0)
``"cluster"``  ``c A^-1 B_G A^-1`` with ``B_G = sum_g S_g S_g^T``, ``S_g`` the score sum of
               cluster g, and ``c = G/(G-1)`` (Stata's ``vce(cluster)``; ``cluster_correction=False``
               gives c = 1)
``"expected"`` ``I^-1`` (inverse expected Fisher information)
``"none"``     not computed (NaN)
=============  ==============================================================================

With a prior (MAP), ``A`` is the curvature of the log posterior, so ``"oim"`` is the Laplace
covariance; ``"opg"`` and ``"expected"`` likewise add the prior's curvature ``P`` to ``B`` and ``I``
(as BHHH and Fisher scoring do), while the sandwiches keep ``B`` of the likelihood's scores as
their meat.

The covariance of the constrained parameters is ``J cov_z J^T`` with ``J = d theta / d z`` (the
delta method); fixed parameters get zero rows. A singular or indefinite matrix is never
pseudo-inverted silently: parameters in a null or negative-curvature direction get NaN.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from ._numerics import SINGULAR_RTOL, generalized_inverse, nan_aware_congruence, safe_inverse

COV_TYPES = ("oim", "opg", "robust", "cluster", "expected", "none")
NEEDS_SCORES = ("opg", "robust", "cluster")


@dataclasses.dataclass(frozen=True)
class CovarianceResult:
    cov: np.ndarray  # (k, k) constrained-space covariance, names order
    bad_z: np.ndarray  # (k_free,) unidentified / indefinite free directions
    info_min_eig: float  # smallest eigenvalue of the scaled observed information
    hessian_ok: bool  # observed information positive definite and well conditioned
    # For estimable functions of unidentified parameters (None when the matrix is indefinite):
    cov_generalized: np.ndarray | None = None  # (k, k) J G J^T with G the covariance from generalized inverses
    null_theta: np.ndarray | None = None  # (k, m) the flat (unidentified) directions in theta, J N


def assemble(cov_type: str, hess_z, jac, meat=None, expected=None, n_groups=None, cluster_correction=True,
             prior_curvature=None):
    """Return a :class:`CovarianceResult` for ``cov_type`` from the parts at the optimum.

    Besides the covariance (NaN for unidentified parameters) it keeps, for a singular but not
    indefinite matrix, the same formula with generalized inverses and the flat directions: a
    function whose gradient is orthogonal to them (an estimable function, e.g. the sum of two
    collinear coefficients) has a finite variance (:meth:`MLEResult.transform`). ``expected``
    already includes the prior's curvature; ``prior_curvature`` (minus the log prior's Hessian in z,
    None without a prior) is added to the meat for ``"opg"``."""
    jac = np.asarray(jac, dtype=np.float64)
    if cov_type == "opg" and prior_curvature is not None:
        meat = np.asarray(meat, dtype=np.float64) + np.asarray(prior_curvature, dtype=np.float64)
    a = -np.asarray(hess_z, dtype=np.float64)
    a_g, a_null, a_bad, min_eig = generalized_inverse(a)
    a_inv = np.where(a_bad[:, None] | a_bad[None, :], np.nan, a_g)
    hessian_ok = not a_bad.any()
    factor = n_groups / (n_groups - 1.0) if cov_type == "cluster" and cluster_correction else 1.0
    if cov_type in ("oim", "robust", "cluster"):
        core_g, null, core_min = a_g, a_null, min_eig
    elif cov_type in ("opg", "expected"):
        core_g, null, _, core_min = generalized_inverse(np.asarray(meat if cov_type == "opg" else expected))
    if cov_type == "oim":
        cov_z, bad = a_inv, a_bad
        cov_g = a_g
    elif cov_type == "opg":
        cov_z, bad, _ = safe_inverse(np.asarray(meat))
        cov_g = core_g
    elif cov_type in ("robust", "cluster"):
        a_inv_clean = np.where(a_bad[:, None] | a_bad[None, :], 0.0, a_inv)
        cov_z = a_inv_clean @ np.asarray(meat, dtype=np.float64) @ a_inv_clean
        bad = a_bad | ~np.isfinite(np.diag(cov_z))
        cov_z[bad, :] = np.nan
        cov_z[:, bad] = np.nan
        cov_z = cov_z * factor
        cov_g = a_g @ np.asarray(meat, dtype=np.float64) @ a_g * factor
    elif cov_type == "expected":
        cov_z, bad, _ = safe_inverse(np.asarray(expected))
        cov_g = core_g
    elif cov_type == "none":
        k = jac.shape[0]
        return CovarianceResult(np.full((k, k), np.nan), np.zeros(a.shape[0], bool), min_eig, hessian_ok)
    else:  # pragma: no cover - validated earlier
        raise ValueError(cov_type)
    cov = nan_aware_congruence(jac, cov_z)
    generalized = bad.any() and np.isfinite(core_min) and core_min >= -SINGULAR_RTOL
    return CovarianceResult(
        cov=cov, bad_z=bad, info_min_eig=min_eig, hessian_ok=hessian_ok,
        cov_generalized=jac @ cov_g @ jac.T if generalized else None,
        null_theta=jac @ null if generalized else None,
    )


def effective_df(hess_z, prior_curvature) -> float:
    """Effective number of parameters of a MAP fit, ``tr(A^-1 L) = k - tr(A^-1 P)`` with ``A = -H``
    the log posterior's information, ``P`` the prior's curvature and ``L = A - P`` the
    likelihood's (the trace of the ridge "hat" matrix; Hastie & Tibshirani's degrees of freedom of
    a penalised fit). NaN when ``A`` is singular."""
    a = -np.asarray(hess_z, dtype=np.float64)
    try:
        return float(a.shape[0] - np.trace(np.linalg.solve(a, np.asarray(prior_curvature, dtype=np.float64))))
    except np.linalg.LinAlgError:
        return math.nan


BATCH_COV_TYPES = ("oim", "opg", "robust", "expected", "none")


def _inverse_or_nan(a):
    """Inverse of a symmetric matrix that must be positive definite and well conditioned
    (scaled smallest eigenvalue > SINGULAR_RTOL), else all NaN. Traceable (for jit/vmap)."""
    a = 0.5 * (a + a.T)
    d = jnp.diag(a)
    s = jnp.where(d > 0, 1.0 / jnp.sqrt(jnp.where(d > 0, d, 1.0)), 0.0)
    ok = jnp.all(d > 0) & (jnp.linalg.eigvalsh(a * s[:, None] * s[None, :])[0] > SINGULAR_RTOL)
    return jnp.where(ok, jnp.linalg.inv(a), jnp.nan)


def batch_assemble(cov_type: str, parts):
    """The covariance of :func:`assemble` as a traceable function (for ``make_solver`` under
    ``vmap``): the same formulas, but a singular or indefinite matrix makes the whole covariance
    NaN (per-parameter diagnosis is :func:`maximize`'s job)."""
    if cov_type == "oim":
        cov_z = _inverse_or_nan(-parts.hess_z)
    elif cov_type == "opg":
        cov_z = _inverse_or_nan(parts.meat + parts.prior_curvature)
    elif cov_type == "robust":
        a_inv = _inverse_or_nan(-parts.hess_z)
        cov_z = a_inv @ parts.meat @ a_inv
    elif cov_type == "expected":
        cov_z = _inverse_or_nan(parts.expected)
    else:
        raise ValueError(f"cov_type for a batched solve: unknown {cov_type!r}; expected one of {BATCH_COV_TYPES}")
    return parts.jac @ cov_z @ parts.jac.T
