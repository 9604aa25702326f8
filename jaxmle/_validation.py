"""Eager checks of user inputs, with messages that name the argument and the shapes."""

from __future__ import annotations

import jax
import numpy as np



def normalize_data(data):
    """Convert a pandas DataFrame to a dict of columns; other pytrees pass through."""
    try:
        import pandas as pd  # optional
    except ImportError:  # pragma: no cover
        return data
    if isinstance(data, pd.DataFrame):
        return {str(c): data[c].to_numpy() for c in data.columns}
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
        arr = np.asarray(leaf)
        if arr.dtype == object:
            raise TypeError(f"{label} has dtype object; data leaves must be numeric arrays")
        if arr.ndim == 0:
            raise ValueError(f"{label} is a scalar; every data leaf needs a leading observation axis")
        if n is None:
            n, n_from = arr.shape[0], label
        elif arr.shape[0] != n:
            raise ValueError(f"{label} has leading axis {arr.shape[0]}, expected n={n} (from {n_from})")
        if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating):
            bad = ~np.isfinite(arr)
            if bad.any():
                rows = np.unique(np.nonzero(bad)[0])[:5]
                raise ValueError(
                    f"{label} contains {int(bad.sum())} NaN/inf value(s) (first rows {rows.tolist()}); "
                    "drop or impute them before fitting"
                )
    return n


def check_weights(weights, n: int | None):
    """Return weights as float64 NumPy (n,), or None; raise for bad shape or values."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if n is None:
        raise ValueError("weights were given but data is None, so there are no observations to weight")
    if w.shape != (n,):
        raise ValueError(f"weights has shape {w.shape}, expected ({n},) (one per observation)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return w


def check_cluster(cluster, n: int | None):
    """Return (integer codes (n,), number of groups G) for cluster labels."""
    labels = np.asarray(cluster)
    if n is None:
        raise ValueError("cluster labels were given but data is None")
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"cluster has shape {labels.shape}, expected ({n},) (one label per observation)")
    _, codes = np.unique(labels, return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise ValueError("cluster-robust covariance needs at least 2 clusters")
    return codes.astype(np.int32), n_groups


def check_options(options, allowed: dict, method_label: str) -> dict:
    """Merge ``options`` into the defaults ``allowed``; unknown keys raise naming them."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"options: unknown key(s) {unknown} for method {method_label}; valid keys: {sorted(allowed)}"
        )
    return {**allowed, **options}
