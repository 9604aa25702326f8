"""Pytree helpers: flat parameter names and per-leaf option specs.

Parameters are any pytree of float arrays. Flat order is the order of
``jax.tree_util.tree_leaves`` with each leaf raveled in C order (as ``ravel_pytree``).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey


def _path_label(path) -> str:
    parts: list[str] = []
    for i, key in enumerate(path):
        if isinstance(key, DictKey):
            parts.append(("." if parts else "") + str(key.key))
        elif isinstance(key, GetAttrKey):
            parts.append(("." if parts else "") + key.name)
        elif isinstance(key, SequenceKey):
            parts.append(f"theta{key.idx}" if i == 0 else f"[{key.idx}]")
        elif isinstance(key, FlattenedIndexKey):
            parts.append(f"theta{key.key}" if i == 0 else f"[{key.key}]")
        else:  # pragma: no cover - exotic custom nodes
            parts.append(str(key))
    return "".join(parts) or "theta"


def from_series(params0):
    """``params0`` with a pandas Series (statsmodels' ``start_params`` style: values indexed by name)
    turned into a dict of scalars ``{name: value}``, so that the fit's names are the Series' labels
    (a Series is otherwise a single array leaf, named "theta"); anything else unchanged. A Series
    without labels of its own (the default 0..k-1 index, e.g. the ``.params`` of a statsmodels
    model fitted on NumPy arrays) is the 1-d float array of its values."""
    if not (type(params0).__module__.startswith("pandas") and type(params0).__name__ == "Series"):
        return params0
    if list(params0.index) == list(range(len(params0))):
        return np.asarray(params0.to_numpy(), dtype=float)
    labels = [str(label) for label in params0.index]
    if len(set(labels)) != len(labels):
        raise ValueError(f"params0: a pandas Series needs distinct labels, got {labels}")
    return {label: np.asarray(value, dtype=float) for label, value in zip(labels, params0.to_numpy())}


def leaf_labels(tree) -> list[str]:
    """Labels of the leaves of ``tree`` ("beta", "a.b", "theta0" for tuples, "theta" for a bare array)."""
    return [_path_label(path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def flat_names(tree) -> list[str]:
    """Flat names of every scalar in ``tree``: ``beta[0]``, ``sigma``, ``theta[1,2]``."""
    names: list[str] = []
    for label, leaf in zip(leaf_labels(tree), jax.tree_util.tree_leaves(tree)):
        shape = np.shape(leaf)
        if shape == ():
            names.append(label)
        else:
            for idx in np.ndindex(*shape):
                names.append(f"{label}[{','.join(str(i) for i in idx)}]")
    return names


def expand_prefix(prefix: Any, tree: Any, *, is_spec: Callable[[Any], bool], default: Any, arg: str) -> list:
    """Broadcast a pytree prefix of leaf specs over the leaves of ``tree``.

    Returns one spec per leaf of ``tree`` (flat order). ``prefix`` may be a single spec (applied to
    every leaf), ``None`` (the default everywhere), or a pytree prefix of ``tree``; for dict
    parameters a dict prefix may omit keys (they get ``default``) but may not name unknown ones.
    """
    if prefix is None:
        return [default] * len(jax.tree_util.tree_leaves(tree))
    if is_spec(prefix):
        return [prefix] * len(jax.tree_util.tree_leaves(tree))
    prefix = _fill_dicts(prefix, tree, default=default, arg=arg, is_spec=is_spec)
    out: list = []

    def collect(spec, subtree):
        out.extend([spec] * len(jax.tree_util.tree_leaves(subtree)))
        return None

    try:
        jax.tree_util.tree_map(collect, prefix, tree, is_leaf=is_spec)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{arg} must be a spec or a pytree prefix of params0; its structure does not match: {err}"
        ) from None
    return out


def _fill_dicts(prefix, tree, *, default, arg, is_spec):
    if is_spec(prefix):
        return prefix
    if isinstance(prefix, dict) and isinstance(tree, dict):
        unknown = sorted(set(prefix) - set(tree), key=str)
        if unknown:
            raise ValueError(f"{arg} names {unknown}, which are not in params0 (keys: {sorted(tree, key=str)})")
        return {k: _fill_dicts(prefix.get(k, default), tree[k], default=default, arg=arg, is_spec=is_spec) for k in tree}
    if isinstance(prefix, (list, tuple)) and jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(tree)):
        as_array = np.asarray(prefix)  # a per-element spec for an array leaf, written as a sequence
        if as_array.dtype != object and is_spec(as_array):
            return as_array
    return prefix
