"""Ready-made log priors for MAP (penalised) estimation: ``maximize(..., log_prior=...)``.

* :func:`normal` -- Gaussian prior, the ridge (L2) penalty ``-sum theta^2 / (2 scale^2)``;
* :func:`laplace` -- Laplace prior, the lasso (L1) penalty ``-sum |theta| / scale``, with ``|theta|``
  smoothed at 0 so that Newton's method (which needs second derivatives) applies.

Each returns a frozen, hashable dataclass with ``__call__(params) -> scalar``. Two priors built
with the same arguments compare and hash equal, so a second fit with ``jaxmle.priors.normal(1.0)``
reuses the compiled solve of the first (the compiled-solver cache is keyed on the prior object).

``on`` selects the penalised parameters: ``None`` (every parameter), or a pytree prefix of
``params`` of booleans. For dict parameters a dict may name only some keys; the keys it leaves out
are *not* penalised: ``on={"beta": True}`` penalises ``beta`` only, and
``on={"beta": [False, True, True]}`` also leaves the intercept ``beta[0]`` unpenalised.

Normalising constants are left out: ``normal`` returns ``-sum theta^2 / (2 scale^2)``, not
``sum log N(theta; 0, scale^2)``. The constant (``-m/2 log(2 pi scale^2)`` for m penalised
values) changes neither the MAP estimate nor its Laplace covariance, and leaving it out makes
``res.log_prior`` exactly minus the ridge / lasso penalty, so ``res.loglik + res.log_prior`` is
the penalised log-likelihood of the ridge and lasso literature. Add the constant yourself when
the normalised density matters (e.g. comparing marginal likelihoods across prior scales).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _pytree
from ._layout import _is_fixed_spec

__all__ = ["normal", "laplace", "Normal", "Laplace"]

# Default smoothing of |theta| in the Laplace prior, relative to its scale.
LAPLACE_EPS_REL = 1e-6


@dataclasses.dataclass(frozen=True)
class _Mask:
    """A hashable, frozen copy of an ``on=`` selection: its tree structure and boolean leaves."""

    treedef: Any
    leaves: tuple  # per leaf: (shape, tuple of bools), or None (= not penalised)

    def tree(self, as_lists: bool = False):
        leaves = [
            None if leaf is None
            else (np.asarray(leaf[1], dtype=bool).reshape(leaf[0]).tolist() if as_lists
                  else np.asarray(leaf[1], dtype=bool).reshape(leaf[0]))
            for leaf in self.leaves
        ]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)


def _is_mask_leaf(x) -> bool:
    return _is_fixed_spec(x)


def _freeze_on(on):
    """``on`` (None, a bool, or a pytree prefix of booleans) -> None or a hashable :class:`_Mask`."""
    if on is None or isinstance(on, _Mask):
        return on
    if isinstance(on, (bool, np.bool_)):
        if not on:
            raise ValueError("on=False selects no parameter; leave the prior out instead")
        return None
    if isinstance(on, str):
        raise TypeError(
            f"on must be None, a bool or a pytree prefix of params of booleans (e.g. {{{on!r}: True}}), got {on!r}"
        )
    leaves, treedef = jax.tree_util.tree_flatten(on, is_leaf=_is_mask_leaf)
    frozen = []
    for leaf in leaves:
        if leaf is None:
            frozen.append(None)
            continue
        if not _is_mask_leaf(leaf):
            raise TypeError(f"on: every leaf must be a bool or an array/list of bools, got {leaf!r}")
        arr = np.asarray(leaf)
        if arr.dtype != np.bool_:
            raise TypeError(f"on: every leaf must be a bool or an array/list of bools, got {leaf!r} (dtype {arr.dtype})")
        frozen.append((arr.shape, tuple(bool(b) for b in arr.ravel())))
    if not any(leaf is not None and any(leaf[1]) for leaf in frozen):
        raise ValueError(f"on={on!r} selects no parameter; leave the prior out instead")
    return _Mask(treedef, tuple(frozen))


def _check_scale(scale, what: str = "scale") -> float:
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a positive number, got {scale!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive finite number, got {scale!r}")
    return value


class _Prior:
    """Shared machinery: apply an elementwise log density to the selected parameters and sum."""

    def _masks(self, params) -> list:
        """One boolean mask per leaf of ``params`` (leaf shape), from ``on``."""
        leaves = jax.tree_util.tree_leaves(params)
        if self.on is None:
            return [np.ones(np.shape(x), bool) for x in leaves]
        specs = _pytree.expand_prefix(self.on.tree(), params, is_spec=_is_mask_leaf, default=False, arg="on")
        labels = _pytree.leaf_labels(params)
        masks = []
        for spec, leaf, label in zip(specs, leaves, labels):
            shape = np.shape(leaf)
            mask = np.asarray(False if spec is None else spec, dtype=bool)
            if mask.ndim == 0:
                mask = np.full(shape, bool(mask))
            if mask.shape != shape:
                raise ValueError(f"on for {label!r} has shape {mask.shape}, expected a bool or shape {shape}")
            masks.append(mask)
        return masks

    def _elementwise(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, params) -> jax.Array:
        """The log prior of ``params`` (a scalar; no normalising constant)."""
        parts = []  # summed from Python's weakly typed 0, so the result keeps the parameters' dtype
        for leaf, mask in zip(jax.tree_util.tree_leaves(params), self._masks(params)):
            if not mask.any():
                continue
            terms = self._elementwise(jnp.asarray(leaf))
            parts.append(jnp.sum(terms) if mask.all() else jnp.sum(jnp.where(jnp.asarray(mask), terms, 0.0)))
        return jnp.asarray(sum(parts))

    def _on_repr(self) -> str:
        return "" if self.on is None else f", on={self.on.tree(as_lists=True)!r}"


@dataclasses.dataclass(frozen=True, repr=False)
class Normal(_Prior):
    """Gaussian (ridge, L2) log prior ``sum_j -theta_j^2 / (2 scale^2)`` over the selected parameters.

    Build it with :func:`normal`. Hashable and comparable by value.
    """

    scale: float
    on: Any = None

    def __post_init__(self):
        object.__setattr__(self, "scale", _check_scale(self.scale))
        object.__setattr__(self, "on", _freeze_on(self.on))

    def _elementwise(self, x):
        return -0.5 * jnp.square(x) / self.scale**2

    def __repr__(self) -> str:
        return f"jaxmle.priors.normal(scale={self.scale!r}{self._on_repr()})"


@dataclasses.dataclass(frozen=True, repr=False)
class Laplace(_Prior):
    """Smoothed Laplace (lasso, L1) log prior ``sum_j -(sqrt(theta_j^2 + eps^2) - eps) / scale``.

    Build it with :func:`laplace`. Hashable and comparable by value.
    """

    scale: float
    on: Any = None
    eps: float | None = None

    def __post_init__(self):
        scale = _check_scale(self.scale)
        object.__setattr__(self, "scale", scale)
        eps = LAPLACE_EPS_REL * scale if self.eps is None else _check_scale(self.eps, "eps")
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "on", _freeze_on(self.on))

    def _elementwise(self, x):
        return -(jnp.sqrt(jnp.square(x) + self.eps**2) - self.eps) / self.scale

    def __repr__(self) -> str:
        return f"jaxmle.priors.laplace(scale={self.scale!r}{self._on_repr()}, eps={self.eps!r})"


def normal(scale: float, on: Any = None) -> Normal:
    """Gaussian prior N(0, scale^2) on each selected parameter: the ridge (L2) penalty.

    ``log_prior(params) = -sum_j theta_j^2 / (2 scale^2)`` over the selected flat parameters
    (constrained values, as the model sees them), without the normalising constant (see the module
    docstring). For a Gaussian linear model with known noise sd ``sigma`` the MAP estimate is the
    ridge solution ``(X^T X + sigma^2 / scale^2 I)^-1 X^T y`` and ``res.cov`` the Laplace covariance
    ``(X^T X / sigma^2 + I / scale^2)^-1``.

    Args:
      scale: prior standard deviation (> 0); the ridge penalty weight is ``1 / (2 scale^2)``.
      on: which parameters: None (all) or a pytree prefix of ``params`` of booleans, e.g.
        ``{"beta": True}`` or ``{"beta": [False, True, True]}`` (keys left out are not penalised).

    Returns:
      A hashable :class:`Normal`; pass it as ``maximize(..., log_prior=...)``.
    """
    return Normal(scale, on)


def laplace(scale: float, on: Any = None, eps: float | None = None) -> Laplace:
    """Laplace prior with density proportional to exp(-|theta| / scale): the lasso (L1) penalty, smoothed.

    ``log_prior(params) = -sum_j (sqrt(theta_j^2 + eps^2) - eps) / scale`` over the selected
    parameters, without the normalising constant. ``sqrt(theta^2 + eps^2) - eps`` is a smooth
    stand-in for ``|theta|`` (it equals 0 at 0, differs from ``|theta|`` by less than ``eps``
    everywhere, and has curvature ``1 / eps`` at 0), because jaxmle's Newton-type solvers need a
    twice-differentiable objective; the exact kink at 0 is what makes the lasso set coefficients
    *exactly* to zero, and reproducing that needs proximal (soft-thresholding) methods, which
    jaxmle does not run. With the smooth penalty, coefficients the lasso would zero are shrunk to
    roughly ``eps`` or less instead: for a Gaussian linear model with an orthonormal design and
    noise sd ``sigma`` (lasso threshold ``lam = sigma^2 / scale``), a coefficient whose least-squares
    value z has ``|z| = r lam`` with r < 1 lands at ``eps r / sqrt(1 - r^2)``, and the others at the
    soft-threshold value ``sign(z)(|z| - lam)`` up to about ``lam eps^2 / (2 theta^2)``.

    The Laplace variance (``res.cov``) of a coefficient shrunk to ~0 is of order ``scale * eps``
    (the inverse of the penalty's curvature at 0), so its "standard error" of order
    ``sqrt(scale * eps)`` is an artefact of the smoothing, not a meaningful uncertainty.

    Args:
      scale: the Laplace scale b (> 0); the lasso penalty weight is ``1 / scale``.
      on: which parameters, as in :func:`normal`.
      eps: the smoothing width, in the units of the parameters (default ``1e-6 * scale``). Smaller
        values approach the exact lasso but make the curvature at 0 (``1 / (scale eps)``) larger
        and Newton takes a few more iterations (about log2(|theta_start| / eps)).

    Returns:
      A hashable :class:`Laplace`; pass it as ``maximize(..., log_prior=...)``.
    """
    return Laplace(scale, on, eps)
