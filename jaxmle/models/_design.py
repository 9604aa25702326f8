"""Design matrices from a formula on a pandas DataFrame (via formulaic, an optional extra)."""

from __future__ import annotations

import numpy as np


def _formulaic():
    try:
        import formulaic
    except ImportError as err:
        raise ImportError(
            "jaxmle.models.design needs the optional package formulaic: pip install 'jaxmle[formula]' "
            "(or pass data={'X': ..., 'y': ...} arrays directly)"
        ) from err
    return formulaic


def design(formula: str, frame, *, extra=()) -> tuple[dict, list[str]]:
    """Build a model's data dict from a Wilkinson formula: ``design("y ~ x1 + C(g)", df)``.

    Args:
      formula: ``"response ~ terms"`` in formulaic's grammar (an intercept is included unless the
        formula says ``0 +`` / ``- 1``; ``C(g)`` or a string column gives treatment dummies).
      frame: a pandas DataFrame. Rows with missing values in the formula's variables are dropped
        (formulaic's default), and ``extra`` columns follow the same rows.
      extra: names of further columns to carry into the data dict unchanged, e.g.
        ``("censored",)`` for a survival model.

    Returns:
      ``(data, names)``: ``data = {"X": (n, p) float64, "y": (n,), **extra}`` and ``names`` the p
      column names of X (``"Intercept"``, ``"x1"``, ``"C(g)[T.b]"``), in the order of ``beta``:
      ``res.rename({"beta": names})`` puts them on a fit's table.
      A numeric response gives a float64 ``y``; a categorical (string / categorical) response gives
      integer codes 0, ..., K-1 in formulaic's level order (the first level is the reference
      category of :func:`jaxmle.models.mnlogit`).
    """
    formulaic = _formulaic()
    matrices = formulaic.model_matrix(formula, frame)
    if not hasattr(matrices, "lhs"):
        raise ValueError(f"formula {formula!r} has no response: write it as 'y ~ x1 + x2'")
    rhs, lhs = matrices.rhs, matrices.lhs
    x = np.asarray(rhs, dtype=np.float64)
    lhs_values = np.asarray(lhs, dtype=np.float64)
    if lhs_values.shape[1] == 1:
        y = lhs_values[:, 0]
    else:  # a categorical response, one-hot encoded by formulaic (full rank on the left-hand side)
        if not np.all(lhs_values.sum(axis=1) == 1.0):
            raise ValueError(f"the response of {formula!r} expands to {lhs_values.shape[1]} columns that are not one-hot")
        y = np.argmax(lhs_values, axis=1).astype(np.int32)
    data = {"X": x, "y": y}
    extra = (extra,) if isinstance(extra, str) else tuple(extra)
    if extra:
        if not frame.index.is_unique:
            raise ValueError("extra columns are aligned by the DataFrame index, which has duplicates: reset_index() first")
        rows = frame.index.get_indexer(rhs.index)
        for name in extra:
            if name in ("X", "y"):
                raise ValueError(f"extra column {name!r} would overwrite data[{name!r}]")
            data[name] = np.asarray(frame[name])[rows]
    return data, [str(c) for c in rhs.columns]
