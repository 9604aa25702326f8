"""``jaxmle.maximize_stream``: exact maximum likelihood for data streamed from the host in chunks.

For data beyond memory, the data never exist as one array. Each Newton iteration is one pass over
the chunks: a compiled per-chunk function returns the chunk's log-likelihood, gradient, Hessian
and score outer products (k and k x k numbers), which are summed on the host; the safeguarded
Newton step of :mod:`jaxmle._newton`, a backtracking line search (one value pass per trial) and
the convergence test (relative gradient <= tol) run on the host. The pass that confirms
convergence also yields the oim, opg and robust covariances, equal to :func:`maximize`'s on the
same data (tested).

With an optax method, epochs of minibatch steps (:mod:`jaxmle._stream_sgd`) come first; the
derivative pass above then runs at their estimate (covariance and an honest convergence test),
followed by Newton iterations only with ``polish=True``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _compile, _covariance, _dtypes, _pytree, _status, _stream_sgd, _validation, _warnings
from ._engine import chain_rule_applies, theta_hessian_by_chain_rule
from ._maximize import _check_boundary, _check_loglik_output, _diagnose, _mask
from ._newton import Eigen, SecondOrderSolver, measures_noise, newton_step, scaled_eigh
from ._numerics import relative_gradient, relative_size, rounding_level
from ._objective import ModelSpec, Objective
from ._result import MLEResult
from ._setup import configure
from ._warnings import ConvergenceWarning

STREAM_COV_TYPES = ("oim", "opg", "robust", "none")
NEWTON_TOL = 1e-10
FIRST_ORDER_TOL = 1e-6  # see the docstring of maximize_stream (tol)


@functools.lru_cache(maxsize=32)
def _compiled(loglik, log_prior, layout):
    """Jitted per-chunk and prior functions of the full unconstrained vector u."""
    data_spec = ModelSpec(loglik)  # the prior is added once per pass, not once per chunk
    prior_spec = ModelSpec(loglik, log_prior)

    def chunk_obj(u, data):
        n = jax.tree_util.tree_leaves(data)[0].shape[0]
        return Objective(data_spec, layout, u, data, jnp.ones((n,), u.dtype))

    def value(u, data):
        return chunk_obj(u, data)._loglik_and_magnitude(layout.free_part(u))

    def derivatives(u, data):
        obj, z = chunk_obj(u, data), layout.free_part(u)
        f, g, h = obj.value_grad_hessian(z)  # of -loglik
        return -f, -g, -h, obj.outer_product(z)[2]

    def prior(u):
        obj = Objective(prior_spec, layout, u, None, jnp.ones((1,), u.dtype))
        z = layout.free_part(u)
        value, grad = jax.value_and_grad(obj.log_prior)(z)
        return value, grad, obj.prior_hessian(z), obj.theta_jacobian(z)

    def theta_hessian(u, hess_z, grad_z):
        return theta_hessian_by_chain_rule(layout, u, layout.free_part(u), hess_z, grad_z)

    return _compile.jit(value), _compile.jit(derivatives), _compile.jit(prior), _compile.jit(theta_hessian)


def maximize_stream(
    loglik: Callable,
    params0: Any,
    chunks: Callable[[], Iterable[Any]],
    *,
    method: Any = "newton",
    n_epochs: int | None = None,
    polish: bool = False,
    cov_type: str = "oim",
    constraints: Any = None,
    log_prior: Callable | None = None,
    fixed: Any = None,
    tol: float | None = None,
    max_iter: int = 50,
    max_halvings: int = 40,
    dtype: str = "float64",
) -> MLEResult:
    """Maximise a log-likelihood over data that arrive in chunks, never held in memory at once.

    With ``method="newton"`` (default) each iteration is one pass over the chunks with
    derivatives, an exact out-of-core Newton method. With an ``optax.GradientTransformation`` each
    chunk is a minibatch and one optimizer step on the minibatch *mean* negative log posterior
    ``-(1/m) sum_{i in chunk} loglik_i - log_prior/n`` (the prior weighted by the chunk's share of
    the n observations, so the steps average to the full mean gradient and the stationary point is
    the MLE, or the MAP), for ``n_epochs`` passes; one full-data pass with derivatives then gives
    the log-likelihood, gradient, Hessian and score products at the estimate, hence the covariance
    and the convergence test. First-order steps do not reach the exact maximum: the fit counts as
    converged only when that pass finds the relative gradient <= ``tol``; ``polish=True`` continues
    from the first-order estimate with exact Newton passes (typically 1-3), which do.

    Args:
      loglik: per-observation contributions ``loglik(params, data_chunk) -> (m,)``.
      params0: starting values (any pytree of floats; a pandas Series is the dict of its labels).
      chunks: a function returning a fresh iterable of data chunks (pytrees with a leading
        observation axis) on every call; each pass (a Newton iteration, a line-search trial, an
        epoch) calls it once. Chunks of equal shape share one compilation (pad the last one or keep
        it apart). Shuffling is the caller's job: for stochastic-gradient epochs, let ``chunks()``
        return the observations in a new random order, or random minibatches, on each call.
      method: ``"newton"`` or an ``optax.GradientTransformation`` (e.g. ``optax.adam(1e-2)``),
        applied to the minibatch mean loss in the unconstrained free parameters; its state is
        carried across chunks and epochs. Transformations with extra arguments (optax's line
        searches) search along the minibatch loss.
      n_epochs: passes over the chunks with ``method`` an optax transformation (required there;
        not accepted with ``"newton"``).
      polish: after the epochs, continue with exact Newton passes (at most ``max_iter``) from the
        first-order estimate (optax methods only).
      cov_type: "oim", "opg", "robust" or "none" (formulas of :func:`maximize`).
      constraints: supports, as for :func:`maximize`.
      log_prior: a log prior (MAP), as for :func:`maximize`. With an optax method, one extra pass
        that only reads the chunks' lengths first counts n (the prior's weight is 1/n).
      fixed: parameters held at their start, as for :func:`maximize`.
      tol: relative gradient tolerance, ``max_j |g_j| max(|z_j|, 1) / max(|f|, 1)`` with f the
        total negative log posterior and g its gradient in the unconstrained values z (or, as for
        :func:`maximize`, a Newton step below the rounding level of z, which float32 reaches). Default
        1e-10 for Newton (with or without ``polish``), 1e-6 for first-order epochs alone: as f and
        g both grow with n, this bounds the gradient of the mean loss relative to the mean loss,
        which puts the estimate within about ``1e-6 sqrt(n)`` standard errors of the maximum (for
        unit-scale information and mean loss): 0.01 SE at n = 1e8. ``info["newton_step_se"]``
        reports the actual distance.
      max_iter: Newton iterations (passes with derivatives) at most; with an optax method, the
        polish iterations at most.
      max_halvings: line-search step halvings at most per Newton iteration.
      dtype: "float64" or "float32".

    Returns:
      An :class:`MLEResult` for the constrained parameters (``params``, ``cov`` and ``stderr`` by
      the delta method, ``cov`` of shape (k, k)). ``method`` is ``"newton-stream"``, or the optax
      label with ``"-stream"`` (and ``"+newton"`` when polished). ``n_iter`` counts parameter
      updates: Newton iterations, plus the optimizer steps (one per chunk) of an optax method.
      ``hessian`` is NaN when some parameter is fixed or a simplex (it is only available there from
      the in-memory fit). ``info`` adds ``newton_step_se``: the largest |Newton step| in standard
      errors at the last pass, ``max_j |d_j| / sqrt(((-H)^-1)_jj)`` with ``d = (-H)^-1 g`` in z
      (NaN unless -H is positive definite), i.e. how far that point is predicted to lie from the
      maximum. A converged fit with Newton iterations then takes that step, as :func:`maximize`
      does, without another pass (the estimate's remaining distance is of the order of its
      square; loglik, covariance and Hessian are those of the last pass); first-order epochs
      without ``polish`` end where the epochs did. With an optax method ``info`` also has
      ``n_epochs``, ``n_steps`` (optimizer steps), ``loss_history`` (shape ``(n_epochs,)``: each
      epoch's mean over observations of the minibatch losses, taken before each step) and
      ``n_newton`` (polish iterations).

    Warns:
      ConvergenceWarning: the tolerance was not met (always reported, never hidden); the result,
        with its covariance at the final point, is still returned with ``converged=False``.
    """
    if cov_type not in STREAM_COV_TYPES:
        raise ValueError(f"cov_type: unknown {cov_type!r} for maximize_stream; expected one of {STREAM_COV_TYPES}")
    if not callable(chunks):
        raise TypeError("chunks must be a function returning a fresh iterable of data chunks (it is read once per pass)")
    first_order = _check_method(method, n_epochs, polish)
    if tol is None:
        tol = FIRST_ORDER_TOL if first_order and not polish else NEWTON_TOL
    params0 = _pytree.from_series(params0)
    cfg = configure(loglik, params0, method="newton", constraints=constraints, log_prior=log_prior, fixed=fixed,
                    tol=tol, max_iter=max_iter, options={"max_halvings": max_halvings}, expected_info=None,
                    dtype=dtype, hessian="batched")  # (the mode of _compiled's ModelSpec)
    layout, np_dtype = cfg.layout, cfg.dtype
    value_fn, deriv_fn, prior_fn, theta_hess_fn = _compiled(loglik, log_prior, layout)
    solver = SecondOrderSolver("hessian", max_halvings)

    def each_chunk(validate=True):
        count = 0
        for chunk in chunks():
            chunk = _validation.normalize_data(chunk)
            if validate:
                m = _validation.check_data(chunk)
                if count == 0:
                    _check_contributions(loglik, params0, chunk, m, np_dtype)
            count += 1
            yield _dtypes.cast_data(chunk, np_dtype)
        if count == 0:
            raise ValueError("chunks() yielded no data")

    def value_pass(u):
        ll = mag = 0.0
        for chunk in each_chunk():
            c, m = value_fn(u, chunk)
            ll, mag = ll + float(c), mag + float(m)
        prior = float(prior_fn(u)[0])
        return -(ll + prior), mag + abs(prior)

    def derivative_pass(u):
        total, n = None, 0
        for chunk in each_chunk():
            parts = [np.asarray(p, dtype=np.float64) for p in deriv_fn(u, chunk)]
            total = parts if total is None else [a + b for a, b in zip(total, parts)]
            n += jax.tree_util.tree_leaves(chunk)[0].shape[0]
        ll, grad, hess, outer = total
        prior, prior_grad, prior_hess, jac = (np.asarray(p, dtype=np.float64) for p in prior_fn(u))
        return ll, prior, grad + prior_grad, hess + prior_hess, outer, jac, n, -prior_hess

    with _dtypes.precision_scope(np_dtype):
        u = np.asarray(layout.unconstrain(_dtypes.cast_data(params0, np_dtype)), dtype=np_dtype)
        sgd_info, n_steps = {}, 0
        if first_order:
            # The data are validated in the first epoch (and again in the final pass), not every epoch.
            n_prior = (sum(_stream_sgd.leading_length(_validation.normalize_data(c)) for c in chunks())
                       if log_prior is not None else 1)
            if n_prior == 0:
                raise ValueError("chunks() yielded no data")
            step = _stream_sgd.compiled_step(loglik, log_prior, layout, method)
            z_hat, history, n_steps = _stream_sgd.run_epochs(
                step, method, jnp.asarray(layout.free_part(jnp.asarray(u))), u,
                lambda epoch: each_chunk(validate=epoch == 0), n_epochs, 1.0 / n_prior)
            u = np.asarray(layout.insert_free(z_hat, jnp.asarray(u)), dtype=np_dtype)
            sgd_info = {"n_epochs": int(n_epochs), "n_steps": n_steps, "loss_history": history}
        newton_iter = cfg.max_iter if polish or not first_order else 0
        status, n_iter, halvings, last_step, t, predicted = _status.RUNNING, 0, 0, 0.0, 1.0, np.inf
        last_move, excess = np.zeros(layout.k_free), 0.0

        def flag_unbounded(status, z, grad, eig, last_step, level=True):
            """``(status, positive, newton)``: the status with maximize's test for a maximum at infinity,
            and whether -H is positive definite and the Newton step ``H^-1 g`` (objective's sign)."""
            positive, newton = newton_step(jnp.asarray(-grad), eig)
            status = int(solver.with_unbounded(layout, jnp.asarray(status), jnp.asarray(z), newton, last_step, level))
            return status, bool(positive), np.asarray(newton)

        while True:
            ll, prior, grad, hess, outer, jac, n, prior_curvature = derivative_pass(u)
            z = np.asarray(layout.free_part(jnp.asarray(u)))
            f = -(ll + prior)
            eig_np = scaled_eigh(-hess, np)  # of the objective's Hessian (NumPy: no eager device op)
            eig = Eigen(*(jnp.asarray(x) for x in eig_np))
            # maximize's test: relative gradient <= tol, or a Newton step below the rounding level of z
            # (what float32 reaches), and no negative curvature.
            stuck = n_iter > 0 and last_step <= 10 * np.finfo(np_dtype).eps  # (maximize's test)
            settled = n_iter > 0 and t == 1.0 and predicted <= rounding_level(np.asarray(f, np_dtype), np)
            converged = bool(solver.converged(jnp.asarray(z), jnp.asarray(f, np_dtype), jnp.asarray(-grad), eig,
                                              cfg.tol, stuck=stuck, noise=excess, settled=settled))
            if not np.isfinite(f) or not np.all(np.isfinite(grad)):
                status = _status.NONFINITE
            elif converged:
                status, positive, newton = flag_unbounded(_status.CONVERGED, z, grad, eig, last_step)
                small_gain = 0.5 * float(-grad @ newton) <= np.sqrt(np.finfo(np_dtype).eps) * max(abs(float(f)), 1.0)
                if (status == _status.CONVERGED and newton_iter > 0 and positive and np.all(np.isfinite(newton))
                        and small_gain):
                    # maximize's final Newton step, without evaluating again (f, the gradient and the
                    # curvature reported stay those of this pass): it squares the remaining error
                    u = np.asarray(layout.insert_free(jnp.asarray(z - newton), jnp.asarray(u)), dtype=np_dtype)
            elif n_iter >= newton_iter:
                status = _status.MAX_ITER
            if status != _status.RUNNING:
                break
            d = np.asarray(solver.direction(jnp.asarray(-grad), eig, jnp.asarray(z), jnp.asarray(last_move)))
            gd = min(float(-grad @ d), 0.0)
            t, accepted, excess, walled = 1.0, False, 0.0, False
            for _ in range(max_halvings + 1):
                trial = np.asarray(layout.insert_free(jnp.asarray(z + t * d), jnp.asarray(u)), dtype=np_dtype)
                f_new, magnitude = value_pass(trial)
                if bool(solver.sufficient_decrease(jnp.asarray(f, np_dtype), jnp.asarray(f_new, np_dtype),
                                                   jnp.asarray(magnitude, np_dtype), t, gd)):  # maximize's Armijo test
                    accepted = True
                    break
                if np.isfinite(f_new) and bool(measures_noise(jnp.asarray(t * d), jnp.asarray(z))):
                    excess = max(excess, float(f_new) - float(f))  # (f's noise where stuck, as in maximize)
                walled = walled or not np.isfinite(f_new)
                t *= 0.5
                halvings += 1
            if not accepted:  # (a wall of non-finite trials, as in maximize, is not judged as a flat rise)
                level = excess <= rounding_level(np.asarray(max(abs(float(f)), 1.0), np_dtype), np)  # (as maximize)
                status = _status.WALL if walled else flag_unbounded(_status.STALLED, z, grad, eig, last_step, level)[0]
                break
            predicted = -(t * gd - 0.5 * t * t * float(d @ hess @ d))  # the step's predicted decrease of f
            last_move = (z + t * d) - z  # (as taken: 0 where t d is below z's rounding level, as in maximize)
            last_step = float(relative_size(jnp.asarray(last_move), jnp.asarray(z + last_move)))  # (as maximize)
            u, n_iter = trial, n_iter + 1
        theta_hess = (np.asarray(theta_hess_fn(jnp.asarray(u), jnp.asarray(hess), jnp.asarray(grad)))
                      if chain_rule_applies(layout) else np.full((layout.k, layout.k), np.nan))
        params_hat = jax.tree_util.tree_map(lambda x: np.asarray(x, dtype=np.float64), layout.constrain(jnp.asarray(u)))

    label, message = "newton-stream", _status.message(status)
    if first_order:
        label = dataclasses.replace(cfg, method=method, method_key="optax").method_label
        label += "-stream+newton" if polish else "-stream"
        sgd_info["n_newton"] = n_iter
        if status == _status.MAX_ITER and not polish:
            message = (f"the {n_epochs} epoch(s) of first-order steps ended with the relative gradient above "
                       f"tol={cfg.tol:g} (polish=True finishes with exact Newton passes)")
    if status != _status.CONVERGED:
        what = f"{n_epochs} epoch(s) and {n_iter} Newton iterations" if first_order else f"{n_iter} iterations"
        _warnings.warn(f"maximize_stream did not converge ({message}) after {what}", ConvergenceWarning)
    covres = _covariance.assemble(cov_type, hess, jac, outer, prior_curvature=prior_curvature)
    unidentified = _diagnose(layout, covres, jac, status == _status.CONVERGED)
    boundary = _check_boundary(layout, np.asarray(u), hess, float(ll + prior), grad)
    on_boundary = np.isin(np.asarray(layout.names), boundary)
    cov, cov_g = (_mask(m, on_boundary) for m in (covres.cov, covres.cov_generalized))
    return MLEResult(
        params=params_hat, cov=cov, hessian=theta_hess, loglik=float(ll), log_prior=float(prior), nobs=n,
        converged=status == _status.CONVERGED, n_iter=n_steps + n_iter,
        grad_norm=float(relative_gradient(jnp.asarray(-grad), jnp.asarray(z), f)), status=message,
        method=label, cov_type=cov_type, names=layout.names, fixed=layout.fixed_theta,
        unidentified=unidentified, boundary=boundary, is_map=log_prior is not None, n_groups=None,
        info={"n_halvings": halvings, "curvature_min": float(eig_np.lam[0]), "curvature_max": float(eig_np.lam[-1]),
              "information_min_eig": float(covres.info_min_eig), "newton_step_se": _newton_step_se(eig_np, grad),
              **({"df_effective": _covariance.effective_df(hess, prior_curvature)} if log_prior is not None else {}),
              **sgd_info},
        _layout=layout, _config=cfg, _scalar=False,
        _u=np.asarray(u, dtype=np.float64), _hess_z=hess, _cov_g=cov_g, _null=covres.null_theta,
    )


def _check_method(method, n_epochs, polish) -> bool:
    """Validate ``method``, ``n_epochs`` and ``polish``; True for the first-order (optax) path."""
    if isinstance(method, str):
        if method != "newton":
            raise ValueError(f"method: unknown {method!r} for maximize_stream; expected 'newton' or an "
                             "optax.GradientTransformation (first-order steps on streamed minibatches)")
        if n_epochs is not None or polish:
            raise ValueError("n_epochs and polish apply to a first-order method (an optax.GradientTransformation), "
                             "not to method='newton'")
        return False
    if not isinstance(method, optax.GradientTransformation):
        raise TypeError(f"method must be 'newton' or an optax.GradientTransformation, got {type(method).__name__}")
    if n_epochs is None:
        raise ValueError("n_epochs: an optax method needs the number of passes over the chunks, e.g. n_epochs=10")
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, (int, np.integer)) or n_epochs < 1:
        raise ValueError(f"n_epochs must be a positive integer (passes over the chunks), got {n_epochs!r}")
    if not isinstance(polish, (bool, np.bool_)):
        raise TypeError(f"polish must be True or False, got {polish!r}")
    return True


def _check_contributions(loglik, params0, chunk, m, np_dtype) -> None:
    """Raise unless ``loglik`` returns the (m,) contributions of a chunk of m observations."""
    with _dtypes.precision_scope(np_dtype):
        scalar, _ = _check_loglik_output(loglik, _dtypes.cast_params(params0, np_dtype),
                                         _dtypes.cast_data(chunk, np_dtype), m)
    if scalar:
        raise ValueError("maximize_stream sums loglik over chunks and needs per-observation contributions, but "
                         "loglik returned a scalar: return the (n,) vector of contributions")


def _newton_step_se(eig: Eigen, grad) -> float:
    """``max_j |d_j| / sqrt(V_jj)`` with ``V = (-H)^-1 = S vec diag(1/lam) vec^T S`` (``eig``: the
    scaled eigensystem of -H, NumPy) and ``d = V g``."""
    lam, vec, s = eig
    if lam.size == 0 or not np.all(np.isfinite(lam)) or lam[0] <= 0 or not np.all(np.isfinite(grad)):
        return float("nan")
    d = s * (vec @ ((vec.T @ (s * grad)) / lam))
    return float(np.max(np.abs(d) / (s * np.sqrt((vec ** 2) @ (1.0 / lam)))))
