"""Numerically safe primitives shared by the solvers and the covariance code."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def relative_gradient(g, z, f):
    """Dennis–Schnabel relative gradient: max_j |g_j| max(|z_j|, 1) / max(|f|, 1).

    Invariant to the scale of the objective (so to n) and to the units of each parameter.
    """
    return jnp.max(jnp.abs(g) * jnp.maximum(jnp.abs(z), 1.0)) / jnp.maximum(jnp.abs(f), 1.0)


def relative_size(step, z, xp=jnp):
    """``max_j |step_j| / max(|z_j|, 1)``: a step's size relative to the point it starts from
    (``xp``: ``jax.numpy``, traceable, or ``numpy`` on the host)."""
    return xp.max(xp.abs(step) / xp.maximum(xp.abs(z), 1.0))


def at_rounding_level(step, z):
    """Whether ``step`` is below the rounding level of ``z`` (``|step_j| <= 10 eps max(|z_j|, 1)``
    for all j): floating point allows no further progress, the stopping point float32 reaches
    before a tight gradient tolerance."""
    return relative_size(step, z) <= 10 * jnp.finfo(z.dtype).eps


def rounding_level(f, xp=jnp):
    """``10 eps |f|``: the rounding level of a value ``f`` (a sum of many terms) in its precision,
    below which a change of f (a predicted gain, a rejected trial's excess) is not measurable.
    ``xp``: ``jax.numpy`` (traceable) or ``numpy``."""
    return 10 * xp.finfo(xp.asarray(f).dtype).eps * xp.abs(f)


def all_finite(*xs):
    out = jnp.array(True)
    for x in xs:
        out = out & jnp.all(jnp.isfinite(x))
    return out


# Relative eigenvalue threshold (on the unit-diagonal scaled matrix) below which a direction is
# treated as unidentified: a variance inflation of 1e10.
SINGULAR_RTOL = 1e-10
# A parameter whose squared loading on a null direction exceeds this is reported as unidentified.
LOADING_TOL = 1e-6
# Scaled eigenvalues above this are no rounding zeros (exactly collinear columns give ~1e-16, and
# rounding in sums over large n stays below it): a null direction whose eigenvalue is above it is
# nearly, not exactly, flat, and its eigenvalue is accurate.
NEAR_ZERO = 1e-13


def generalized_inverse(a: np.ndarray, rtol: float = SINGULAR_RTOL):
    """A generalized inverse of a symmetric matrix that should be positive (semi)definite.

    Returns ``(ginv, null, bad, min_eig)``. On the unit-diagonal scaled matrix
    ``c = D^-1/2 a D^-1/2`` eigenvalues ``<= rtol`` count as null directions; ``ginv`` (k, k) is
    ``D^-1/2 c^+ D^-1/2`` with ``c^+`` the inverse over the eigenvalues above ``NEAR_ZERO`` (zero
    rows for parameters with a non-positive diagonal), a generalized inverse of ``a`` when ``a``
    is positive semidefinite: for a linear combination ``l`` with
    ``l' null = 0`` (an estimable function), ``l' ginv l`` is its variance whatever generalized
    inverse is used. ``null`` (k, m) holds the null directions of ``a`` (unit columns), ``bad``
    (k,) the parameters loading on them (or on negative curvature), and ``min_eig`` the smallest
    eigenvalue of ``c`` (-inf for a negative diagonal entry, NaN for a non-finite ``a``).
    """
    a = np.asarray(a, dtype=np.float64)
    k = a.shape[0]
    ginv, null_cols = np.zeros((k, k)), []
    if k == 0:
        return ginv, np.zeros((0, 0)), np.zeros(0, bool), np.inf
    if not np.all(np.isfinite(a)):
        return np.full((k, k), np.nan), np.zeros((k, 0)), np.ones(k, bool), np.nan
    a = 0.5 * (a + a.T)
    d = np.diag(a).copy()
    ok = d > 0
    bad = ~ok
    idx = np.nonzero(ok)[0]
    # a negative diagonal entry is negative curvature (-inf); a zero one a flat direction (0)
    tol = SINGULAR_RTOL * max(float(np.max(np.abs(d))), np.finfo(np.float64).tiny)
    min_eig = -np.inf if np.any(d < -tol) else (0.0 if bad.any() else np.inf)
    null_cols += [np.eye(k)[:, j] for j in np.nonzero(~ok)[0]]
    if idx.size:
        s = 1.0 / np.sqrt(d[idx])
        c = a[np.ix_(idx, idx)] * s[:, None] * s[None, :]
        lam, vec = np.linalg.eigh(c)
        min_eig = min(min_eig, float(lam[0]))
        null = lam <= rtol
        loading = (vec[:, null] ** 2).sum(axis=1)
        # A nearly flat direction (NEAR_ZERO < lam <= rtol) stays in the inverse: the parameters
        # loading on it are unidentified by the rule above, but the others' variances include
        # their small loadings' share 1/lam (dropped, a covariate next to two nearly collinear
        # ones had its standard error 0.9% too small); a rounding zero's eigenvector is not known
        # well enough for that, and the generalized inverse leaves it out.
        keep = lam > NEAR_ZERO
        c_inv = (vec[:, keep] / lam[keep]) @ vec[:, keep].T
        ginv[np.ix_(idx, idx)] = c_inv * s[:, None] * s[None, :]
        bad[idx[loading > LOADING_TOL]] = True
        for u in vec[:, null].T:  # a null vector u of c is the null direction D^-1/2 u of a
            v = np.zeros(k)
            v[idx] = s * u
            null_cols.append(v / np.linalg.norm(v))
    null = np.stack(null_cols, axis=1) if null_cols else np.zeros((k, 0))
    return ginv, null, bad, min_eig


def safe_inverse(a: np.ndarray, rtol: float = SINGULAR_RTOL):
    """Invert a symmetric matrix that should be positive definite, without hiding failure.

    Returns ``(inv, bad, min_eig)``: ``inv`` (k, k) has NaN rows/columns for the parameters
    involved in a null or negative-curvature direction (``bad``, bool (k,)), and the exact inverse
    elsewhere (for parameters orthogonal to the bad directions, their block of the
    Moore–Penrose inverse is their variance, as for any estimable function). ``min_eig`` is the
    smallest eigenvalue of the unit-diagonal scaled matrix ``D^-1/2 a D^-1/2``.
    """
    inv, _, bad, min_eig = generalized_inverse(a, rtol)
    inv = inv.copy()
    inv[bad, :] = np.nan
    inv[:, bad] = np.nan
    return inv, bad, min_eig


def nan_aware_congruence(j: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``j @ cov @ j.T`` where outputs touched by a NaN row of ``cov`` become NaN (not 0*NaN noise)."""
    bad_in = np.isnan(np.diag(cov)) if cov.size else np.zeros(0, bool)
    clean = np.where(np.isnan(cov), 0.0, cov)
    out = j @ clean @ j.T
    bad_out = (np.abs(j) @ bad_in.astype(float)) > 0 if bad_in.size else np.zeros(j.shape[0], bool)
    out[bad_out, :] = np.nan
    out[:, bad_out] = np.nan
    return out
