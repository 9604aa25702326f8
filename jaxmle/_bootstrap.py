"""``jaxmle.bootstrap``: every replicate in one vectorized (``vmap``) solve.

Nonparametric resampling is expressed as multinomial *frequency weights* on the weighted
log-likelihood (replicate b maximises ``sum_i c_bi w_i loglik_i``, ``c_b ~ Multinomial(n, 1/n)``),
so shapes stay static and nothing is gathered; cluster labels resample whole clusters. The
parametric bootstrap draws new data with the user's ``simulate(params, key, data)``.

Replicates run BFGS started from the full-sample inverse Hessian (:mod:`jaxmle._preconditioned`),
so an iteration costs one batched gradient instead of a batched Hessian. Each replicate is
iterated to its *own* optimum (relative gradient <= tol), and replicates that do not converge
that way are polished by exact (safeguarded) Newton; those that still fail, or whose maximum is
not finite (a flat direction, e.g. a perfectly separated resample), are counted, reported and
left out of every statistic.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import _compile, _dtypes, _status, _threefry, _validation, _warnings
from ._bootstrap_result import BootstrapResult
from ._driver import iterate
from ._newton import EIG_FLOOR, SecondOrderSolver, scaled_eigh
from ._objective import Objective
from ._preconditioned import PreconditionedBFGS
from ._warnings import ConvergenceWarning, JaxmleWarning

KINDS = ("nonparametric", "parametric")
# Default relative-gradient tolerance of a replicate (before its final quasi-Newton step).
REPLICATE_TOL = 1e-8
# The counter that derives the resampling key from the user's key (ASCII "boot", 0): the draws
# are a stream of their own, apart from any the user makes with the same key.
_RESAMPLING_STREAM = (0x626F6F74, 0)


@dataclasses.dataclass(frozen=True)
class Resampler:
    """Maps one replicate's input (its index, with its resampling counts, or a group index for the
    jackknife) to ``(data_b, weights_b)``. Hashable: it keys the compiled batch solve."""

    kind: str  # "nonparametric", "cluster", "parametric" or "jackknife"
    n: int
    n_groups: int = 0
    simulate: Callable | None = None

    @property
    def draws(self) -> int:
        """How many units a replicate draws (observations or clusters); 0 where it draws none."""
        return {"nonparametric": self.n, "cluster": self.n_groups}.get(self.kind, 0)

    def __call__(self, rep, counts, key, data, base_weights, codes, params_hat):
        """``rep``: the replicate's index b, or the deleted group of a jackknife replicate;
        ``counts``: how often the replicate drew each unit (:func:`resample_counts`), or None."""
        if self.kind == "nonparametric":
            return data, base_weights * counts.astype(base_weights.dtype)
        if self.kind == "cluster":
            return data, base_weights * counts.astype(base_weights.dtype)[codes]
        if self.kind == "jackknife":
            return data, base_weights * (codes != rep).astype(base_weights.dtype)
        return self.simulate(params_hat, jax.random.fold_in(key, rep), data), base_weights


@functools.partial(jax.jit, static_argnums=2)
def resample_counts(key, reps, m: int) -> jax.Array:
    """How often each of 0..m-1 is drawn by each replicate in ``reps`` (c,): int32 (c, m) counts,
    from :func:`resample_indices`.

    Compiled on its own, with XLA's default CPU emitters: they vectorise the unrolled hash into one
    kernel (0.18 s to compile, 0.02 s to run for 1000 x 2000 draws), where the older emitters
    the solvers compile with (:mod:`jaxmle._compile`) took 0.4-0.5 s and 0.08-0.1 s. The program
    depends only on (c, m), so every model bootstrapped on n observations shares it."""
    c = reps.shape[0]
    rows = jnp.broadcast_to(jnp.arange(c, dtype=jnp.int32)[:, None], (c, m))
    # an integer scatter-add: about twice as fast as a floating one on CPU
    return jnp.zeros((c, m), jnp.int32).at[rows, resample_indices(key, reps, m)].add(1)


def resample_indices(key, rep, m: int) -> jax.Array:
    """The m draws (int32, uniform on 0..m-1, with replacement) of bootstrap replicate ``rep``:
    shape (m,), or ``rep.shape + (m,)`` for an array of replicate indices.

    Draw i of replicate b is the Threefry-2x32 hash (JAX's, :mod:`jaxmle._threefry`) of the
    counter pair ``(b, i)`` under a key derived from ``key`` for resampling, modulo m: its 64 bits
    with 64-bit integers enabled (the float64 default; bias below m / 2**64), its low 32 bits in
    float32 mode (bias below m / 2**32). A replicate's draws therefore do not depend on how many
    replicates are run or how they are chunked, and each is one hash of a counter: no key
    splitting, and the unrolled hash compiles and runs faster than ``jax.random`` on CPU.
    """
    k0, k1 = _threefry.threefry2x32(*_threefry.key_words(key), *_RESAMPLING_STREAM)
    rep = jnp.asarray(rep, jnp.uint32)
    shape = rep.shape + (m,)
    hi, lo = _threefry.threefry2x32(k0, k1, jnp.broadcast_to(rep[..., None], shape),
                                    jnp.broadcast_to(jnp.arange(m, dtype=jnp.uint32), shape))
    if not jax.config.jax_enable_x64:
        return (lo % jnp.uint32(m)).astype(jnp.int32)
    bits = (hi.astype(jnp.uint64) << jnp.uint64(32)) | lo.astype(jnp.uint64)
    return (bits % jnp.uint64(m)).astype(jnp.int32)


@functools.lru_cache(maxsize=64)
def _batch_solver(engine, resampler: Resampler, exact: bool):
    """A jitted function solving a batch of replicates (vmap over their inputs ``reps`` (c,) and,
    for the resampling kinds, their ``counts`` (c, m); None otherwise).

    ``metric = (B0, H0)``: the full-sample inverse Hessian of the objective and its inverse.
    Replicates that only reweight the data start from ``(f, g)`` computed from the full-sample
    contributions and scores (linear in the weights: no batched evaluation). Replicates without a
    finite maximum are reported ``UNBOUNDED`` by either solver (its flat-direction test)."""
    layout, spec = engine.key.layout, engine.key.spec
    max_halvings = dict(engine.key.options).get("max_halvings", 40)
    reweights = resampler.kind != "parametric"

    def solve_batch(reps, counts, key, data, base_weights, codes, params_hat, u_hat, metric, tol, max_iter):
        inv_hessian0, hessian0 = metric
        z_hat = layout.free_part(u_hat)
        if reweights:  # per-observation contributions and scores at the estimate, computed once
            full = Objective(spec, layout, u_hat, data, base_weights)
            scores, contributions = full._chunk_scores(z_hat, data)
            prior, prior_grad = jax.value_and_grad(full.log_prior)(z_hat)

        def one(rep, counts_b):
            data_b, w_b = resampler(rep, counts_b, key, data, base_weights, codes, params_hat)
            obj = Objective(spec, layout, u_hat, data_b, w_b)
            if exact:
                state = iterate(SecondOrderSolver("hessian", max_halvings), obj, z_hat, tol, max_iter)
            else:
                start = (-(w_b @ contributions) - prior, -(scores.T @ w_b) - prior_grad) if reweights else None
                solver = PreconditionedBFGS(inv_hessian0, hessian0, start)
                state = iterate(solver, obj, z_hat, tol, max_iter)
            theta = layout.flatten(layout.constrain(layout.insert_free(state.z, u_hat)))
            return theta, state.status.astype(jnp.int32), state.n_iter

        return jax.vmap(one)(reps, counts)

    return _compile.jit(solve_batch)


def bootstrap(
    loglik: Callable,
    res,
    data: Any = None,
    *,
    n_boot: int = 1000,
    key: Any,
    kind: str = "nonparametric",
    simulate: Callable | None = None,
    chunk_size: int | None = None,
    cluster: Any = None,
    weights: Any = None,
    tol: float | None = None,
    max_iter: int = 100,
    progress: bool = False,
    jackknife_groups: int = 200,
) -> BootstrapResult:
    """Bootstrap a fit: refit ``n_boot`` replicates, all in one vectorized solve.

    Every replicate starts from ``res.params`` and uses the model, supports, fixed parameters and
    prior of ``res``; it is solved to its own optimum (the same optimum a separate ``maximize``
    with the replicate's weights or data would find).

    Args:
      loglik: the log-likelihood ``res`` was fitted with.
      res: an :class:`MLEResult` from :func:`maximize`.
      data: the data ``res`` was fitted on.
      n_boot: number of replicates B.
      key: a JAX PRNG key (``jax.random.key(0)``) or an integer seed. Replicate b draws its
        observations (or clusters) as hashes of the counters ``(b, i)`` under a key derived from
        ``key`` (:func:`resample_indices`), and a parametric replicate simulates with
        ``jax.random.fold_in(key, b)``, so results do not depend on ``chunk_size`` (and the first B
        replicates of a larger run are the same).
      kind: "nonparametric" (resample observations, or whole clusters when ``cluster`` is given)
        or "parametric" (new data from ``simulate(params, key, data) -> data``, same shapes).
      simulate: the parametric simulator (params are the fitted ones, JAX arrays).
      chunk_size: solve at most this many replicates per compiled call (bounded memory);
        every chunk reuses the same compiled function.
      cluster: labels (n,) for a cluster (block) bootstrap.
      weights: the frequency weights ``res`` was fitted with, if any.
      tol: relative gradient tolerance of each replicate; by default ``REPLICATE_TOL`` = 1e-8, or
        ``res``'s tolerance if that is looser. The final quasi-Newton step then brings each
        replicate to within ~1e-9 of its own optimum (tested to 1e-8; ``tol=1e-10`` gives ~1e-12
        and costs one more iteration, ~10%): a billionth of the sampling spread the bootstrap
        measures. Replicates whose MLE does not exist (a flat direction, e.g. a perfectly separated
        resample) are detected by their final step and fail instead of stopping at a large value.
        A replicate also stops where its next quasi-Newton step is below the rounding level of
        the parameters, which is where a float32 fit (``res`` fitted with ``dtype="float32"``)
        ends, before 1e-8.
      max_iter: iteration limit of each replicate's quasi-Newton solve.
      progress: show a progress bar over chunks (needs ``tqdm``, the ``progress`` extra).
      jackknife_groups: groups of the (grouped) jackknife behind the BCa acceleration.

    Returns:
      A :class:`BootstrapResult` (``samples`` with a leading axis of length ``n_boot``).
    """
    cfg = getattr(res, "_config", None)
    if cfg is None:
        raise TypeError("res must be an MLEResult returned by jaxmle.maximize")
    if kind not in KINDS:
        raise ValueError(f"kind: unknown {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "parametric" and simulate is None:
        raise ValueError("kind='parametric' needs simulate=fn(params, key, data) returning a new data set")
    if kind == "nonparametric" and simulate is not None:
        raise ValueError("simulate= is only used with kind='parametric'")
    if kind == "parametric" and cluster is not None:
        raise ValueError("cluster= resamples clusters, which only applies to kind='nonparametric'")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if isinstance(jackknife_groups, bool) or not isinstance(jackknife_groups, (int, np.integer)) or jackknife_groups < 2:
        raise ValueError(f"jackknife_groups must be an integer >= 2, got {jackknife_groups!r}")
    if res._scalar and kind == "nonparametric":
        raise ValueError(
            "the nonparametric bootstrap reweights per-observation contributions, but loglik returns a scalar: "
            "return the (n,) vector of contributions"
        )
    key = _as_key(key)
    if not res.converged:
        _warnings.warn(
            f"res did not converge ({res.status}): every replicate starts from, and the intervals are centred on, "
            "a point that is not the maximum", ConvergenceWarning)
    cfg = dataclasses.replace(cfg, loglik=loglik)
    data = _validation.normalize_data(data)
    n = _validation.check_data(data)
    if data is None:  # a loglik holding its own data: n is the length of its contributions
        n = res.nobs
    if n != res.nobs:
        raise ValueError(f"data has n={n} observations but res was fitted on nobs={res.nobs}")
    w_np = _validation.check_weights_of_fit(weights, n, res, "bootstrap")
    codes, n_groups = _validation.check_cluster(cluster, n) if cluster is not None else (None, 0)
    if kind == "nonparametric" and cluster is None and res.cov_type == "cluster":
        _warnings.warn(
            f"res has a cluster-robust covariance ({res.n_groups} clusters) but no cluster= labels were given: the "
            "bootstrap resamples single observations, which ignores the within-cluster correlation the fit allows "
            "for (its standard errors can be several times too small); pass the fit's cluster= labels to resample "
            "whole clusters", JaxmleWarning)
    tol = max(cfg.tol, REPLICATE_TOL) if tol is None else tol
    if not (np.isscalar(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    reps = np.arange(n_boot, dtype=np.int32)

    resampler = Resampler("cluster" if cluster is not None else kind, n or 1, n_groups, simulate)
    dtype = cfg.dtype
    with _dtypes.precision_scope(dtype):
        engine = cfg.engine(res._scalar)
        data_c = _dtypes.to_device(_dtypes.cast_data(data, dtype))
        # host (NumPy) arguments: an eager jnp.ones / astype would compile a one-off XLA program each
        base_w = np.ones((n or 1,), dtype) if w_np is None else np.asarray(w_np, dtype)
        codes_j = np.zeros((n or 1,), np.int32) if codes is None else np.asarray(codes, np.int32)
        params_hat = jax.tree_util.tree_map(lambda x: np.asarray(x, dtype), res.params)
        u_hat = np.asarray(res._u, dtype)
        metric = _start_metric(res._hess_z, dtype)
        if kind == "parametric":
            _check_simulate(simulate, params_hat, key, data_c)
        args = (key, data_c, base_w, codes_j, params_hat, u_hat, metric, np.asarray(float(tol), dtype),
                np.asarray(max_iter, np.int32))

        theta, status, n_iter = _run_chunks(_batch_solver(engine, resampler, False), reps, args, chunk_size, progress,
                                            resampler.draws)
        failed = np.nonzero(status != _status.CONVERGED)[0]
        n_polished = failed.size
        if failed.size:  # exact Newton for the replicates the quasi-Newton iteration could not finish
            polish = _batch_solver(engine, resampler, True)
            pt, pstatus, piter = _run_chunks(polish, reps[failed], args, _bucket(failed.size, chunk_size), False,
                                             resampler.draws)
            theta[failed], status[failed], n_iter[failed] = pt, pstatus, n_iter[failed] + piter
    samples = _unflatten_batch(res._layout, theta.astype(np.float64))

    converged = status == _status.CONVERGED
    n_failed = int((~converged).sum())
    if n_failed:
        _warnings.warn(
            f"{n_failed} of {n_boot} bootstrap replicates did not converge "
            f"({', '.join(sorted({_status.message(s) for s in status[~converged]}))}); they are left out of the "
            "bootstrap statistics",
            ConvergenceWarning)

    jackknife = _Jackknife(cfg, bool(res._scalar), n, jackknife_groups, args, dtype,
                           codes if cluster is not None else None)

    return BootstrapResult(
        samples=samples,
        converged=converged,
        n_iter=n_iter,
        n_failed=n_failed,
        n_polished=int(n_polished),
        kind=resampler.kind,
        names=res.names,
        estimate=res.params,
        fixed=res.fixed,
        _layout=res._layout,
        _jackknife=jackknife,
    )


def _check_simulate(simulate, params, key, data) -> None:
    """Raise unless ``simulate(params, key, data)`` (traced abstractly) returns data of the same
    structure and shapes as ``data`` (each replicate is refitted with the model compiled for them)."""
    try:
        out = jax.eval_shape(simulate, params, key, data)
    except Exception as err:  # noqa: BLE001 - re-raised naming the callable
        raise _validation.named_error(err, "simulate(params, key, data)") from err
    if jax.tree_util.tree_structure(out) != jax.tree_util.tree_structure(data):
        raise ValueError(f"simulate returned data with the structure {jax.tree_util.tree_structure(out)}; "
                         f"expected that of data, {jax.tree_util.tree_structure(data)}")
    for (path, got), leaf in zip(jax.tree_util.tree_flatten_with_path(out)[0], jax.tree_util.tree_leaves(data)):
        if tuple(got.shape) != tuple(np.shape(leaf)):
            raise ValueError(f"simulate returned data{jax.tree_util.keystr(path)} of shape {tuple(got.shape)}; "
                             f"expected {tuple(np.shape(leaf))}, the shape of the data")


def _as_key(key):
    """A JAX PRNG key from ``key`` (a key, or an integer seed); TypeError otherwise.

    An integer seed gives ``jax.random.key(seed)``. For seeds in [0, 2^32) under JAX's default
    Threefry implementation that key's data is ``[0, seed]`` (with or without x64), so it is wrapped
    from NumPy rather than computed by ``jax.random.key``, whose first call in a process compiles
    and runs a program (~0.05 s of a bootstrap's first call)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        seed = int(key)
        if 0 <= seed < 2**32 and jax.config.jax_default_prng_impl == "threefry2x32":
            return jax.random.wrap_key_data(np.array([0, seed], np.uint32))
        return jax.random.key(seed)
    if isinstance(key, jax.Array) and (jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
                                       or (key.dtype == jnp.uint32 and key.shape == (2,))):
        return key
    raise TypeError(f"key must be a JAX PRNG key (jax.random.key(0)) or an integer seed, got {key!r}")


def _start_metric(hess_z, dtype):
    """``(B0, H0)``: the objective's Hessian at the estimate H0 (the eigenvalues of its Jacobi
    scaling floored positive, as Newton does: see :func:`jaxmle._newton.scaled_eigh`) and its
    inverse B0, each (k, k)."""
    lam, vec, s = scaled_eigh(-np.asarray(hess_z, dtype=np.float64), np)
    floor = max(np.max(np.abs(lam)) * EIG_FLOOR, np.finfo(np.float64).tiny)
    lam = np.maximum(np.abs(lam), floor)
    inverse = s[:, None] * ((vec / lam) @ vec.T) * s[None, :]
    hessian = ((vec * lam) @ vec.T) / s[:, None] / s[None, :]
    return np.asarray(inverse, dtype), np.asarray(hessian, dtype)


def _bucket(m: int, chunk_size: int | None) -> int:
    """Chunk size for polishing m replicates: a power of two (few distinct compiled shapes)."""
    size = 1 << max(3, math.ceil(math.log2(max(m, 1))))
    return min(size, chunk_size) if chunk_size else size


def _run_chunks(fn, reps, args, chunk_size, progress, draws: int = 0):
    """Apply the batch solver chunk by chunk; the last chunk is padded to the same shape.

    With ``draws`` = m > 0, each chunk's resampling counts (c, m) (:func:`resample_counts` with
    the key ``args[0]``) are drawn on a second thread, one chunk ahead of the solver: the first
    chunk's while the solver compiles (where it has not been compiled yet:
    :meth:`jaxmle._compile._LazyJit.warm`). The solver's tracing and lowering hold the GIL on one
    core, and XLA compiles the counts program on the other meanwhile (it releases the GIL):
    ~0.25 s of a first bootstrap call (ninth session, ``benchmarks/RESULTS.md``). All draws are
    made on that thread, so their compiled program is found again by every call (JAX keys its
    cache by the calling thread's config scopes)."""
    total = len(reps)
    size = total if chunk_size is None else min(chunk_size, total)
    # each chunk padded with copies of its first replicate to the same compiled shape, and its length
    chunks = [(np.concatenate([c, np.repeat(c[:1], size - c.shape[0], axis=0)]), c.shape[0])
              for c in (reps[start : start + size] for start in range(0, total, size))]
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError as err:  # pragma: no cover
            raise ImportError("progress=True needs tqdm: pip install 'jaxmle[progress]'") from err
        steps = tqdm(chunks, desc="bootstrap", unit="chunk")
    else:
        steps = chunks
    # JAX's x64 and default-device scopes are per thread: the draws use this thread's (drawn on
    # the worker's default device, the counts would pull the solve there, or clash with data
    # committed elsewhere)
    x64, device = jax.config.jax_enable_x64, jax.config.jax_default_device

    def draw(i):
        if not draws:
            return None
        with jax.enable_x64(x64), jax.default_device(device):
            return resample_counts(args[0], chunks[i][0], draws)

    us, statuses, iters = [], [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(draw, 0)
        if draws:
            fn.warm(chunks[0][0], jax.ShapeDtypeStruct((size, draws), jnp.int32), *args)
        for i, (chunk, m) in enumerate(steps):
            counts = ahead.result()
            if i + 1 < len(chunks):
                ahead = pool.submit(draw, i + 1)
            u, status, n_iter = fn(chunk, counts, *args)
            us.append(np.asarray(u)[:m])
            statuses.append(np.asarray(status)[:m])
            iters.append(np.asarray(n_iter)[:m])
    return np.concatenate(us), np.concatenate(statuses), np.concatenate(iters)


def _unflatten_batch(layout, theta: np.ndarray):
    """(B, k) flat constrained estimates -> params pytree with a leading axis B."""
    leaves, start = [], 0
    for shape, m in zip(layout.shapes, layout.sizes):
        leaves.append(theta[:, start : start + m].reshape((theta.shape[0],) + shape))
        start += m
    return jax.tree_util.tree_unflatten(layout.treedef, leaves)


@dataclasses.dataclass(frozen=True)
class _Jackknife:
    """The grouped jackknife behind BCa, computed on first use (:func:`_jackknife`); a plain record
    of its inputs, so that a :class:`BootstrapResult` can be pickled (the compiled engine is rebuilt
    from ``cfg`` where it is called)."""

    cfg: Any
    scalar: bool
    n: int
    groups: int
    args: tuple
    dtype: Any
    cluster_codes: Any = None

    def __call__(self) -> np.ndarray:
        if self.scalar:
            raise ValueError(
                "method='bca' takes its acceleration from a jackknife that deletes observations, but loglik returns "
                "a scalar (the total): return the (n,) vector of per-observation contributions, or use "
                "method='percentile', 'basic' or 'normal'")
        with _dtypes.precision_scope(self.dtype):
            engine = self.cfg.engine(self.scalar)
        return _jackknife(engine, self.n, self.groups, self.args, self.dtype, self.cluster_codes)

    def __getstate__(self):
        # device arrays as NumPy: a float64 JAX array unpickled where x64 is off (JAX's default)
        # comes back float32, and the jackknife's refits would then see rounded data
        def host(x):
            return x if jax.dtypes.issubdtype(getattr(x, "dtype", np.float64), jax.dtypes.prng_key) else np.asarray(x)

        return {**self.__dict__, "args": jax.tree_util.tree_map(host, self.args)}


def _jackknife(engine, n, groups, args, dtype, cluster_codes=None):
    """Grouped delete-one-group jackknife estimates (G, k) (converged ones) for the BCa acceleration.

    Observation i belongs to group ``i % G``; with G = n it is the ordinary leave-one-out jackknife.
    After a cluster bootstrap the unit is the cluster: cluster c (``cluster_codes``, 0..C-1) belongs
    to group ``c % G`` (G <= C), so whole clusters are deleted (delete-one-cluster when G = C)."""
    units = np.arange(n) if cluster_codes is None else np.asarray(cluster_codes)
    g = int(min(groups, int(units.max()) + 1))
    group_codes = jnp.asarray(units % g, jnp.int32)
    fn = _batch_solver(engine, Resampler("jackknife", n), False)
    with _dtypes.precision_scope(dtype):
        jack_args = args[:3] + (group_codes,) + args[4:]
        theta, status, _ = _run_chunks(fn, np.arange(g, dtype=np.int32), jack_args, None, False)
    return theta.astype(np.float64)[status == _status.CONVERGED]
