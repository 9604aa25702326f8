"""Numerically safe primitives shared by the solvers and the covariance code."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def relative_gradient(g, z, f):
    """Dennis–Schnabel relative gradient: max_j |g_j| max(|z_j|, 1) / max(|f|, 1).

    Invariant to the scale of the objective (so to n) and to the units of each parameter.
    """
    return jnp.max(jnp.abs(g) * jnp.maximum(jnp.abs(z), 1.0)) / jnp.maximum(jnp.abs(f), 1.0)


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


def safe_inverse(a: np.ndarray, rtol: float = SINGULAR_RTOL):
    """Invert a symmetric matrix that should be positive definite, without hiding failure.

    Returns ``(inv, bad, min_eig)``: ``inv`` (k, k) has NaN rows/columns for the parameters
    involved in a null or negative-curvature direction (``bad``, bool (k,)), and the exact inverse
    elsewhere (for parameters orthogonal to the bad directions, their block of the
    Moore–Penrose inverse is their variance, as for any estimable function). ``min_eig`` is the
    smallest eigenvalue of the unit-diagonal scaled matrix ``D^-1/2 a D^-1/2``.
    """
    a = np.asarray(a, dtype=np.float64)
    k = a.shape[0]
    inv = np.full((k, k), np.nan)
    if k == 0:
        return inv, np.zeros(0, bool), np.inf
    if not np.all(np.isfinite(a)):
        return inv, np.ones(k, bool), np.nan
    a = 0.5 * (a + a.T)
    d = np.diag(a).copy()
    ok = d > 0
    bad = ~ok
    idx = np.nonzero(ok)[0]
    # a negative diagonal entry is negative curvature (-inf); a zero one a flat direction (0)
    tol = SINGULAR_RTOL * max(float(np.max(np.abs(d))), np.finfo(np.float64).tiny)
    min_eig = -np.inf if np.any(d < -tol) else (0.0 if bad.any() else np.inf)
    if idx.size:
        s = 1.0 / np.sqrt(d[idx])
        c = a[np.ix_(idx, idx)] * s[:, None] * s[None, :]
        lam, vec = np.linalg.eigh(c)
        min_eig = min(min_eig, float(lam[0]))
        null = lam <= rtol
        loading = (vec[:, null] ** 2).sum(axis=1)
        bad_sub = loading > LOADING_TOL
        keep = ~null
        c_inv = (vec[:, keep] / lam[keep]) @ vec[:, keep].T
        sub = c_inv * s[:, None] * s[None, :]
        inv[np.ix_(idx, idx)] = sub
        bad[idx[bad_sub]] = True
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
