"""Eager checks of user inputs, with messages that name the argument and the shapes."""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np



def normalize_data(data):
    """Convert a pandas DataFrame to a dict of columns; other pytrees pass through.

    pandas is optional and is not imported here: a DataFrame exists only if the caller has
    imported pandas already (importing it just to check took ~0.4 s of a first fit)."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return data
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise ValueError(f"data: the DataFrame has repeated column names {repeated}; make them unique")
        categorical = [name for j, name in enumerate(names) if isinstance(data.iloc[:, j].dtype, pd.CategoricalDtype)]
        if categorical:
            raise TypeError(f"data['{categorical[0]}'] is categorical (pandas Categorical); data leaves must be numeric "
                            "arrays: code it as indicator columns (jaxmle.models.design, pd.get_dummies) or integer "
                            "codes (.cat.codes), or drop it")
        return {name: data.iloc[:, j].to_numpy() for j, name in enumerate(names)}
    if isinstance(data, pd.Series):
        return data.to_numpy()
    return data


def check_data(data) -> int | None:
    """Check the data pytree and return n, its common leading length (None for ``data=None``).

    Raises ``ValueError`` for leaves with different leading lengths, scalar leaves, and NaN/inf.
    """
    if data is None:
        return None
    with_path = jax.tree_util.tree_flatten_with_path(data)[0]
    if not with_path:
        return None
    labels = [f"data{jax.tree_util.keystr(path)}" for path, _ in with_path]
    flat = [leaf for _, leaf in with_path]
    n, n_from = None, None
    for label, leaf in zip(labels, flat):
        on_device = isinstance(leaf, jax.Array)  # checked where it lives: nothing gathered to the host
        arr = leaf if on_device else np.asarray(leaf)
        if arr.dtype.kind not in "biufc":  # bool, integers, floats, complex
            raise TypeError(f"{label} has dtype {arr.dtype}; data leaves must be numeric arrays (drop or "
                            "convert it, e.g. dates to numbers)")
        n = _check_leading(label, arr.shape, n, n_from)
        n_from = n_from or label
        if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.complexfloating)):
            continue
        if all_finite(arr):
            continue
        where = ""
        if not on_device or arr.is_fully_addressable:
            bad = ~np.isfinite(np.asarray(arr))
            where = f" in {int(bad.sum())} value(s) (first rows {np.unique(np.nonzero(bad)[0])[:5].tolist()})"
        raise ValueError(f"{label} contains NaN/inf{where}; drop or impute them before fitting")
    if n == 0:
        raise ValueError("data has 0 observations")
    return n


def _check_leading(label, shape, n, n_from):
    if len(shape) == 0:
        hint = (" (a Python list or tuple of numbers is a pytree of scalars to JAX: convert it with np.asarray)"
                if label.endswith("]") and label[label.rindex("[") + 1:-1].isdigit() else "")
        raise ValueError(f"{label} is a scalar; every data leaf needs a leading observation axis{hint}")
    if n is not None and shape[0] != n:
        raise ValueError(f"{label} has leading axis {shape[0]}, expected n={n} (from {n_from})")
    return shape[0]


def all_finite(arr) -> bool:
    """Whether the floating array ``arr`` (NumPy or JAX) holds only finite values, checked where it
    lives. NumPy arrays and the shards of a JAX array in host memory (the CPU backend) are read in
    place by NumPy; shards on an accelerator by a compiled reduction there (nothing gathered to the
    host). On the CPU nothing is compiled: a one-off reduction program took 0.1 s of XLA compilation
    per data leaf's shape on a first fit with JAX-array data."""
    if not isinstance(arr, jax.Array):
        return bool(np.all(np.isfinite(arr)))
    if in_host_memory(arr):
        return all(bool(np.all(np.isfinite(np.asarray(shard.data)))) for shard in arr.addressable_shards)
    return bool(_all_finite_on_device(arr))


def in_host_memory(arr) -> bool:
    """Whether every shard of the JAX array ``arr`` is in this process, on a CPU device (then NumPy
    reads each shard's buffer in place, without a copy)."""
    return arr.is_fully_addressable and all(device.platform == "cpu" for device in arr.devices())


@jax.jit
def _all_finite_on_device(x):
    return jnp.all(jnp.isfinite(x))


def check_weights(weights, n: int | None):
    """Return weights as a new float64 NumPy array (n,), or None; raise for bad shape or values.
    (A copy, never the caller's array object: see :func:`jaxmle._dtypes.cast_data`.)"""
    if weights is None:
        return None
    w = np.array(weights, dtype=np.float64)
    if n is None:
        raise ValueError("weights were given but data is None, so there are no observations to weight")
    if w.shape != (n,):
        raise ValueError(f"weights has shape {w.shape}, expected ({n},) (one per observation)"
                         + _dropped_rows_hint(w.shape, n, "weights"))
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if not np.any(w > 0):
        raise ValueError("weights are all zero: no observation counts")
    return w


def check_weights_of_fit(weights, n: int | None, res, where: str):
    """``check_weights`` for a function that goes on from the fit ``res``: the weights must be the
    fit's own. Their sum is compared with ``res.wnobs`` (the fit's, or n without weights), so that
    forgetting the weights of a weighted fit, or adding weights to an unweighted one, is an error
    rather than a silently different statistic."""
    w = check_weights(weights, n)
    wnobs = getattr(res, "wnobs", None)
    if n is None or wnobs is None:
        return w
    total = float(n) if w is None else float(np.sum(w))
    if not np.isclose(total, wnobs, rtol=1e-10, atol=0.0):
        fitted = f"frequency weights summing to {wnobs:g}" if wnobs != n else "no weights"
        given = f"weights summing to {total:g}" if w is not None else "no weights"
        raise ValueError(f"{where}: the fit was made with {fitted} but {given} were passed; pass weights= as in the fit")
    return w


def check_cluster(cluster, n: int | None):
    """Return (integer codes (n,), number of groups G) for cluster labels."""
    labels = np.asarray(cluster)
    if n is None:
        raise ValueError("cluster labels were given but data is None")
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"cluster has shape {labels.shape}, expected ({n},) (one label per observation)"
                         + _dropped_rows_hint(labels.shape, n, "cluster"))
    missing = _missing_labels(labels)
    if missing.any():
        raise ValueError(f"cluster has {int(missing.sum())} missing labels (NaN/None), first at index "
                         f"{int(np.argmax(missing))}: drop those observations or give them a cluster")
    _, codes = np.unique(labels.astype(str) if labels.dtype == object else labels, return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise ValueError("cluster-robust covariance needs at least 2 clusters")
    return codes.astype(np.int32), n_groups


def _dropped_rows_hint(shape, n: int, what: str) -> str:
    """For a 1-D per-observation argument longer than the data: how to keep it aligned when rows
    were dropped (jaxmle.models.design drops rows with missing values)."""
    if len(shape) != 1 or shape[0] <= n:
        return ""
    return (f"; the data has {shape[0] - n} fewer rows: if it was built by jaxmle.models.design, which drops "
            f"rows with missing values, carry the {what} column through it (design(formula, df, extra=('col',)), "
            "then data['col'])")


def check_cluster_choice(cov_type: str, cluster, where: str = "") -> None:
    """Raise unless cluster labels are given exactly when ``cov_type`` is "cluster" (``where``: a
    prefix naming the function, e.g. "score_test: ")."""
    if cluster is not None and cov_type != "cluster":
        raise ValueError(f"{where}cluster labels were given but cov_type={cov_type!r}; use cov_type='cluster'")
    if cov_type == "cluster" and cluster is None:
        raise ValueError(f"{where}cov_type='cluster' needs cluster= labels, one per observation")


def clusters_with_weight(codes: np.ndarray, n_groups: int, weights) -> int:
    """The number of clusters (codes 0..n_groups-1) with a positive total weight (all of them
    without weights); at least 2 are needed."""
    total = np.bincount(codes, weights=None if weights is None else np.asarray(weights, float), minlength=n_groups)
    g = int(np.sum(total > 0))
    if g < 2:
        raise ValueError(f"cluster-robust covariance needs at least 2 clusters with positive weight, got {g}")
    return g


def _missing_labels(labels: np.ndarray) -> np.ndarray:
    """(n,) bool: labels that are NaN or None (and pandas' NA / NaT, when the caller uses pandas)."""
    pd = sys.modules.get("pandas")  # (not imported here: see normalize_data)
    if pd is not None:
        return np.asarray(pd.isna(labels), dtype=bool)
    if np.issubdtype(labels.dtype, np.floating):
        return np.isnan(labels)
    if labels.dtype == object:
        return np.array([x is None or (isinstance(x, float) and x != x) for x in labels], dtype=bool)
    return np.zeros(labels.shape, dtype=bool)


def check_options(options, allowed: dict, method_label: str) -> dict:
    """Merge ``options`` into the defaults ``allowed``; unknown keys raise naming them."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"options: unknown key(s) {unknown} for method {method_label}; valid keys: {sorted(allowed)}"
        )
    for key, value in options.items():  # every method option is a count (halvings may be 0)
        least = 0 if key == "max_halvings" else 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"options[{key!r}] must be an integer >= {least}, got {value!r}")
    return {**allowed, **options}


def named_error(err: Exception, what: str) -> Exception:
    """``err`` re-made with its message prefixed by ``"{what} failed: "`` (the same exception type
    where its constructor takes a message, else RuntimeError), to raise ``from err``."""
    try:
        return type(err)(f"{what} failed: {err}")
    except Exception:  # noqa: BLE001 - exception types with other constructors
        return RuntimeError(f"{what} failed: {type(err).__name__}: {err}")
