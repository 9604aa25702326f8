"""Result types: :class:`MLEResult` (a fit) and :class:`DeltaResult` (a delta-method transform)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import _compile, _dtypes, _pytree, _validation
from ._numerics import nan_aware_congruence
from ._table import Summary, coef_frame, coef_table_lines, wald_columns

# |J_i . v| <= ESTIMABLE_RTOL |J_i| for every flat direction v (unit length): output i is estimable.
ESTIMABLE_RTOL = 1e-8


class _CoefficientsMixin:
    """Wald quantities from ``_flat`` (k,), ``cov`` (k, k), ``names`` and ``_unflatten``."""

    @property
    def _flat_stderr(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.diag(self.cov))
        return np.where(self._no_se_mask, np.nan, se)

    @property
    def _no_se_mask(self) -> np.ndarray:
        return np.zeros(len(self.names), bool)

    @property
    def stderr(self):
        """Standard errors, same structure as ``params`` (NaN where not estimable or fixed)."""
        return self._unflatten(self._flat_stderr)

    @property
    def zvalues(self):
        """Wald z statistics ``params / stderr``, same structure as ``params``."""
        return self._unflatten(wald_columns(self._flat, self._flat_stderr, 0.05)[0])

    @property
    def pvalues(self):
        """Two-sided normal p-values of the z statistics, same structure as ``params``."""
        return self._unflatten(wald_columns(self._flat, self._flat_stderr, 0.05)[1])

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Wald confidence intervals ``estimate -/+ z_{1-alpha/2} stderr``, shape (k, 2), ``names`` order.

        Symmetric on the parameters' own (constrained) scale, as statsmodels' and Stata's: near a
        bound they can leave the support (a "positive" sigma's lower end below 0). The profile
        likelihood (:func:`jaxmle.profile`) respects the support, as does an interval for an
        unconstrained transform (``res.transform``, e.g. ``log sigma``) mapped back."""
        _, _, lo, hi = wald_columns(self._flat, self._flat_stderr, alpha)
        return np.stack([lo, hi], axis=1)

    def to_frame(self, alpha: float = 0.05):
        """The coefficient table as a pandas DataFrame indexed by ``names``."""
        return coef_frame(self.names, self._flat, self._flat_stderr, alpha)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class DeltaResult(_CoefficientsMixin):
    """Estimate and delta-method covariance of ``g(params)``: ``cov = J cov(theta) J^T``."""

    params: Any
    cov: np.ndarray
    names: tuple
    _treedef: Any
    _fixed_only: tuple = ()  # per output: a function of fixed parameters alone (no standard error)

    @property
    def _flat(self) -> np.ndarray:
        return np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(self.params)])

    @property
    def _no_se_mask(self) -> np.ndarray:
        return np.asarray(self._fixed_only, dtype=bool) if self._fixed_only else np.zeros(len(self.names), bool)

    def _unflatten(self, flat):
        leaves, start = [], 0
        for leaf in jax.tree_util.tree_leaves(self.params):
            m = int(np.size(leaf))
            leaves.append(np.asarray(flat[start : start + m]).reshape(np.shape(leaf)))
            start += m
        return jax.tree_util.tree_unflatten(self._treedef, leaves)

    def summary(self, alpha: float = 0.05) -> Summary:
        return Summary("\n".join(["Delta-method estimates", *coef_table_lines(self.names, self._flat, self._flat_stderr, alpha)]))

    def __repr__(self) -> str:
        return str(self.summary())


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class MLEResult(_CoefficientsMixin):
    """The result of :func:`jaxmle.maximize` (immutable; a registered pytree).

    Attributes:
      params: estimates, same pytree structure as ``params0`` (NumPy float64 leaves).
      loglik: maximised log-likelihood, sum of the (weighted) contributions, without the prior.
      nobs: number of observations n (rows of the data).
      wnobs: the sum of the frequency weights (``nobs`` when the fit had none): the sample size
        the weights stand for, used by ``bic`` (as statsmodels' GLM does with ``freq_weights``).
      names: flat parameter names (``beta[0]``, ``sigma``), the order of ``cov`` and ``hessian``.
      cov: (k, k) covariance of the flat constrained parameters (``cov_type``); fixed
        parameters have zero rows, unidentified ones NaN.
      hessian: (k, k) Hessian of the log-likelihood (+ log prior) in the constrained parameters.
      converged, n_iter, grad_norm: diagnostics; ``grad_norm`` is the relative gradient
        ``max_j |g_j| max(|z_j|, 1) / max(|f|, 1)`` in the unconstrained parameters at the last
        evaluation (for "newton", a last Newton step is then taken without re-evaluating, which
        squares the remaining error).
      status: a readable message (``"converged"``, ``"iteration limit reached ..."``,
        ``"no finite maximum ..."``).
      info: solver diagnostics: ``n_halvings`` (line-search step halvings), ``curvature_min`` /
        ``curvature_max`` (eigenvalue range of the solver's last curvature matrix, NaN for
        gradient-only methods), ``information_min_eig`` (smallest eigenvalue of the observed
        information scaled to unit diagonal: near 0 flags weak identification, < 0 a saddle).
      method, cov_type: as requested. ``is_map`` is True for a penalised (``log_prior``) fit.
      fixed: per-name booleans for parameters held at their start.
      unidentified: names of parameters with NaN standard errors (singular/indefinite information).
      boundary: names of constrained estimates on the boundary of their support (NaN standard errors).
      log_prior: the log prior at the estimate (0.0 without a prior).

    For a MAP fit, ``info["df_effective"]`` holds its effective number of parameters, which
    ``aic`` and ``bic`` charge instead of ``df_model``.
    """

    params: Any
    cov: np.ndarray
    hessian: np.ndarray
    loglik: float
    log_prior: float
    nobs: int | None
    converged: bool
    n_iter: int
    grad_norm: float
    status: str
    method: str
    cov_type: str
    names: tuple
    fixed: tuple
    unidentified: tuple
    boundary: tuple
    is_map: bool
    n_groups: int | None
    info: dict
    _layout: Any
    _config: Any = None  # the FitConfig (model, method, supports, fixed, prior): reused by bootstrap & co.
    _scalar: bool = False  # loglik returns a total rather than contributions
    _u: Any = None  # the estimate in the full unconstrained space, (k_u,)
    _hess_z: Any = None  # Hessian of the log posterior in the free unconstrained values, (k_free, k_free)
    _cov_g: Any = None  # covariance by generalized inverses (k, k), only when some parameter is unidentified
    _null: Any = None  # (k, m) the unidentified (flat) directions in the constrained parameters
    wnobs: float | None = None

    # ---- derived statistics -------------------------------------------------------------------
    @property
    def _flat(self) -> np.ndarray:
        return _flatten_np(self._layout, self.params)

    def _unflatten(self, flat):
        return self._layout.unflatten(np.asarray(flat))

    @property
    def _no_se_mask(self) -> np.ndarray:
        return np.asarray(self.fixed, dtype=bool)

    @property
    def df_model(self) -> int:
        """Number of estimated (free) parameters: fixed ones and the redundant simplex element excluded."""
        return self._layout.k_free

    @property
    def _df_criteria(self) -> float:
        """The number of parameters AIC and BIC charge: ``df_model``, or for a MAP fit its effective
        degrees of freedom ``info["df_effective"]`` (the prior shrinks the parameters, so they cost less)."""
        return self.info.get("df_effective", self.df_model) if self.is_map else self.df_model

    @property
    def aic(self) -> float:
        """Akaike information criterion ``-2 loglik + 2 df``: ``df = df_model``, or for a MAP fit the
        effective degrees of freedom ``info["df_effective"] = tr(A^-1 L)`` (A: the log posterior's
        information, L: the likelihood's; the trace of the ridge hat matrix), as mgcv's AIC of a
        penalised fit."""
        return -2.0 * self.loglik + 2.0 * self._df_criteria

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``-2 loglik + log(n) df`` (df as for :attr:`aic`), with n =
        ``wnobs`` (the sum of the frequency weights; ``nobs`` without weights); NaN when the sample
        size is unknown (``data=None``: a loglik that is not a sum over observations)."""
        n = self.wnobs if self.wnobs is not None else self.nobs
        if not n:
            return math.nan
        return -2.0 * self.loglik + math.log(n) * self._df_criteria

    # ---- names --------------------------------------------------------------------------------
    def rename(self, names) -> "MLEResult":
        """The same fit with other flat parameter names; ``params`` keep their structure.

        The new names are those of ``summary``, ``to_frame``, ``conf_int``, ``unidentified``,
        ``boundary``, the hypotheses of :func:`jaxmle.wald_test` and the ``name`` of
        :func:`jaxmle.profile`, and carry over to :func:`jaxmle.bootstrap`. The usual use: the
        column names of a formula's design matrix (:func:`jaxmle.models.design`), as statsmodels
        shows them::

            data, columns = jaxmle.models.design("y ~ x1 + C(group)", frame)
            res = jaxmle.models.fit(jaxmle.models.logit(), data).rename({"beta": columns})

        Args:
          names: the k new names in the order of ``self.names``, or a dict from leaf labels (the
            names without their ``[i]``: ``"beta"``, ``"sigma"``) to that leaf's new names: a string
            for a scalar leaf, a sequence of as many strings as the leaf has elements (in C order)
            for an array leaf. Leaves the dict does not name keep their names.

        Returns:
          A new :class:`MLEResult`.

        Raises:
          ValueError: a wrong number of names, a label that is not a leaf's, or names that repeat.
        """
        old = tuple(self.names)
        if isinstance(names, dict):
            labels = _pytree.leaf_labels(self.params)
            sizes = [int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(self.params)]
            unknown = [key for key in names if key not in labels]
            if unknown:
                raise ValueError(f"rename: {unknown} are not leaf labels of params; the labels are {labels}")
            new, start = [], 0
            for label, size in zip(labels, sizes):
                if label in names:
                    given = names[label]
                    given = [given] if isinstance(given, str) else list(given)
                    if len(given) != size:
                        raise ValueError(f"rename: {label!r} has {size} element(s), but {len(given)} name(s) were given")
                    new.extend(given)
                else:
                    new.extend(old[start:start + size])
                start += size
        else:
            new = [names] if isinstance(names, str) else list(names)
            if len(new) != len(old):
                raise ValueError(f"rename: res has {len(old)} parameters ({', '.join(old)}), but {len(new)} names were given")
        new = [str(name) for name in new]
        repeated = sorted({name for name in new if new.count(name) > 1})
        if repeated:
            raise ValueError(f"rename: the names must be distinct; {repeated} repeat")
        mapping = dict(zip(old, new))
        return dataclasses.replace(
            self, names=tuple(new), unidentified=tuple(mapping[n] for n in self.unidentified),
            boundary=tuple(mapping[n] for n in self.boundary),
        )

    # ---- delta method -------------------------------------------------------------------------
    def transform(self, fn: Callable) -> DeltaResult:
        """Delta method: the estimate of ``fn(params)`` and its covariance ``J cov J^T``.

        ``fn`` maps a params pytree (JAX arrays) to a pytree of arrays; ``J`` is its Jacobian in the
        flat constrained parameters (by ``jax.jacfwd``). By invariance ``fn(params)`` is the MLE of
        ``fn(theta)``. With unidentified parameters (NaN standard errors), an output whose gradient
        is orthogonal to the flat directions (an estimable function, e.g. ``beta[1] + 2 beta[2]``
        for collinear regressors x and 2x) still gets its variance, from the covariance formula
        with generalized inverses (any generalized inverse gives the same value); the others stay
        NaN.
        """
        layout = self._layout
        with _dtypes.precision_scope(np.float64):
            theta = jnp.asarray(self._flat, dtype=jnp.float64)

            def value_fn(th):
                return fn(layout.unflatten(th))

            def flat_and_value(th):  # (the raveled outputs, differentiated; the outputs, as they are)
                value = value_fn(th)
                return jnp.concatenate([jnp.ravel(jnp.asarray(x)) for x in jax.tree_util.tree_leaves(value)]), value

            try:
                shapes = jax.eval_shape(value_fn, theta)  # fn's own errors, named as such, before any compilation
            except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as err:
                raise TypeError(
                    "transform: fn must be written with jax.numpy: its value and Jacobian (jax.jacfwd) are compiled, "
                    "which cannot follow NumPy functions (np.exp, np.log, ...) or float()/if on a parameter"
                ) from err
            except Exception as err:  # noqa: BLE001 - re-raised naming the callable
                raise _validation.named_error(err, "transform: fn(params)") from err
            if not jax.tree_util.tree_leaves(shapes):
                raise ValueError("transform: fn returned no arrays; return a pytree of the quantities to estimate")
            # the value and the Jacobian as one compiled program (~0.06 s): op by op, each primitive
            # compiles a program of its own (the demo's variance of a t took 0.9 s on a first call)
            try:
                jac, value = _compile.jit(jax.jacfwd(flat_and_value, has_aux=True))(theta)
            except Exception as err:  # noqa: BLE001 - re-raised naming the callable
                raise _validation.named_error(err, "transform: the Jacobian of fn (jax.jacfwd)") from err
            jac = np.asarray(jac, dtype=np.float64)
        value_np = jax.tree_util.tree_map(lambda x: np.asarray(x, dtype=np.float64), value)
        cov = nan_aware_congruence(jac, self.cov)
        if self._cov_g is not None and np.isnan(np.diag(cov)).any():
            # estimable functions of unidentified parameters: gradient orthogonal to the flat directions
            flat = np.abs(jac @ self._null) > ESTIMABLE_RTOL * np.linalg.norm(jac, axis=1, keepdims=True)
            generalized = nan_aware_congruence(jac, self._cov_g)
            ok = ~flat.any(axis=1) & np.isfinite(np.diag(generalized))
            cov[np.ix_(ok, ok)] = generalized[np.ix_(ok, ok)]
        return DeltaResult(
            params=value_np,
            cov=cov,
            names=tuple(_pytree.flat_names(value_np)),
            _treedef=jax.tree_util.tree_structure(value_np),
            # like res.stderr of a fixed parameter: NaN, not a zero that makes z infinite
            _fixed_only=tuple(~np.any(jac[:, ~np.asarray(self.fixed, dtype=bool)] != 0, axis=1)),
        )

    # ---- display ------------------------------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> Summary:
        """Printable table: header of fit statistics, then estimate, std err, z, P>|z| and CI."""
        title = "jaxmle MAP (penalised likelihood) results" if self.is_map else "jaxmle maximum-likelihood results"
        cov_label = self.cov_type + (" (Laplace)" if self.is_map and self.cov_type == "oim" else "")
        left = [
            ("Log-likelihood:", f"{self.loglik + 0.0:.6g}"),  # (+ 0.0: no "-0")
            ("Method:", str(self.method)),
            ("Covariance:", cov_label),
            ("Converged:", str(self.converged)),
            ("Iterations:", str(self.n_iter)),
            ("Step halvings:", str(self.info.get("n_halvings", 0))),
        ]
        right = [
            ("No. observations:", "-" if self.nobs is None else str(self.nobs) if self.wnobs in (None, self.nobs)
             else f"{self.nobs} (weighted {self.wnobs:g})"),
            ("No. parameters:", str(self.df_model)),
            ("AIC:", f"{self.aic:.6g}"),
            ("BIC:", f"{self.bic:.6g}"),
            ("Rel. gradient:", f"{self.grad_norm:.2e}"),
            ("Min eig(scaled -H):", f"{self.info.get('information_min_eig', float('nan')):.2e}"),
        ]
        if self.is_map:
            left.append(("Log prior:", f"{self.log_prior:.6g}"))
            right.append(("Effective df:", f"{self._df_criteria:.4g}"))
        if self.n_groups:
            left.append(("Clusters:", str(self.n_groups)))
            right.append(("", ""))
        body = coef_table_lines(
            self.names, self._flat, self._flat_stderr, alpha,
            notes={i: "(fixed)" for i, f in enumerate(self.fixed) if f},
        )
        width = max(len(body[0]), 78)
        lines = [title.center(width), "=" * width]
        for (lk, lv), (rk, rv) in zip(left, right):
            half = width // 2
            lines.append(f"{lk:<18}{lv:>{half - 20}}  {rk:<19}{rv:>{width - half - 19}}")
        lines.append("=" * width)
        lines.extend(body)
        lines.append("=" * width)
        if not self.converged:
            lines.append(f"Warning: not converged ({self.status}).")
        if self.boundary:
            lines.append("Warning: on the boundary of the support (NaN standard errors): " + ", ".join(self.boundary) + ".")
        if self.unidentified:
            lines.append("Warning: information singular or not positive definite; NaN standard errors for "
                         + ", ".join(self.unidentified) + ".")
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        est = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.names[:6], self._flat[:6]))
        more = ", ..." if len(self.names) > 6 else ""
        return (
            f"MLEResult({est}{more}; loglik={self.loglik:.6g}, nobs={self.nobs}, method={self.method!r}, "
            f"cov_type={self.cov_type!r}, converged={self.converged})"
        )


def _flatten_np(layout, params) -> np.ndarray:
    leaves = layout.treedef.flatten_up_to(params)
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in leaves])


_DATA_FIELDS = ["params", "cov", "hessian", "loglik", "log_prior", "converged", "n_iter", "grad_norm", "info",
                "_u", "_hess_z", "_cov_g", "_null"]
jax.tree_util.register_dataclass(
    MLEResult,
    data_fields=_DATA_FIELDS,
    meta_fields=[f.name for f in dataclasses.fields(MLEResult) if f.name not in _DATA_FIELDS],
)

__all__ = ["MLEResult", "DeltaResult"]
