"""``hessian="auto"``: choose how a model's Hessians are differentiated, from the model's structure.

The two ways (:data:`jaxmle._objective.HESSIAN_MODES`) give the same numbers; they differ in speed,
and which is faster depends on how the parameters enter the log-likelihood (measured on a 2-core
CPU with n = 50,000, ``benchmarks/bench_hessian.py``):

* where parameters enter through products with the data (regression coefficients in ``X @ beta``),
  the batched forward-over-reverse pass turns the k directions into one matrix product, and whole
  Newton fits are 1.2 to 2.9 times faster than with one column at a time;
* where a *scalar* parameter enters a transcendental function of every observation (a Student-t's
  ``log1p(r^2 / (nu sigma^2))``, a negative binomial's ``lgamma(y + 1/alpha)``, a mixture's
  ``log``/``exp`` of each component density), XLA's CPU backend runs the batched derivatives
  up to 2.5 times slower than the column-by-column ones (its YNNPACK library fusions of the
  (k, n) intermediates): whole fits take 0.6 times as long with "columns".

So "auto" picks "columns" when some scalar parameter reaches a transcendental primitive applied to
observation-shaped values, found by walking the jaxpr of ``loglik`` (into nested jaxprs), and
"batched" otherwise (also when the model cannot be traced here or has no observation axis). The
slowdown is XLA:CPU's, so on other backends (GPU, TPU), where one batched pass means fewer kernel
launches, "auto" is "batched".
"""

from __future__ import annotations

import jax
import numpy as np
from jax.extend import core as jex_core

# Primitives whose derivatives cost far more than a multiply-add (elementwise, on the observations).
TRANSCENDENTAL = frozenset({
    "exp", "exp2", "log", "log1p", "expm1", "pow", "logistic", "tanh", "sinh", "cosh", "asinh", "acosh", "atanh",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "lgamma", "digamma", "polygamma", "zeta", "igamma",
    "igammac", "igamma_grad_a", "random_gamma_grad", "regularized_incomplete_beta", "erf", "erfc", "erf_inv",
    "bessel_i0e", "bessel_i1e",
})


def choose(loglik, params, data, n) -> str:
    """"columns" or "batched" for ``loglik(params, data)`` with ``n`` observations (see the module
    docstring). ``params`` and ``data`` as the fit will pass them (arrays of the fit's dtype)."""
    leaves, treedef = jax.tree_util.tree_flatten(params)
    scalar = tuple(int(np.size(x)) == 1 for x in leaves)
    if jax.default_backend() != "cpu" or not any(scalar) or n is None or n < 2:
        return "batched"
    data_leaves, data_def = jax.tree_util.tree_flatten(data)
    key = (loglik, treedef, tuple(map(_signature, leaves)), data_def, tuple(map(_signature, data_leaves)))
    try:
        hash(key)
    except TypeError:  # an unhashable loglik: decide without the cache
        return _decide(loglik, treedef, leaves, data, scalar, n)
    if key not in _CHOICES:
        if len(_CHOICES) >= 256:
            _CHOICES.clear()
        _CHOICES[key] = _decide(loglik, treedef, leaves, data, scalar, n)
    return _CHOICES[key]


# (loglik, parameter and data structure, shapes, dtypes) -> the choice: one trace per model and shapes
_CHOICES: dict = {}


def _signature(x) -> tuple:
    return np.shape(x), str(getattr(x, "dtype", type(x).__name__))


def _decide(loglik, treedef, leaves, data, scalar, n) -> str:
    try:
        jaxpr = jax.make_jaxpr(lambda *ls: loglik(jax.tree_util.tree_unflatten(treedef, ls), data))(*leaves).jaxpr
        found = _scalar_reaches_transcendental(jaxpr, list(scalar), n)
    except Exception:  # noqa: BLE001 - a model this analysis cannot follow: the default
        return "batched"
    return "columns" if found else "batched"


def _scalar_reaches_transcendental(jaxpr, depends, n) -> bool:
    """Whether a value that depends on an input flagged in ``depends`` is the operand of a
    :data:`TRANSCENDENTAL` primitive with an observation-shaped (leading axis ``n``) result."""
    env = dict(zip(jaxpr.invars, depends))

    def dep(atom):
        return False if isinstance(atom, jex_core.Literal) else env.get(atom, False)

    for eqn in jaxpr.eqns:
        d = any(dep(a) for a in eqn.invars)
        if d:
            if eqn.primitive.name in TRANSCENDENTAL and any(_observation_shaped(v.aval, n) for v in eqn.outvars):
                return True
            flags = [dep(a) for a in eqn.invars]
            for sub in jex_core.jaxprs_in_params(eqn.params):
                inner = getattr(sub, "jaxpr", sub)
                if _scalar_reaches_transcendental(inner, _inner_flags(eqn.primitive.name, flags, len(inner.invars)), n):
                    return True
        for v in eqn.outvars:
            env[v] = d
    return False


def _inner_flags(primitive: str, flags, k):
    """The dependence flags of the k inputs of a jaxpr nested in an equation with input ``flags``:
    a cond's branches take the operands after its index; a call (jit, custom derivative rules, a
    scan) takes the equation's inputs one to one; otherwise (a while loop's split of its inputs)
    every input counts as dependent, which can only err towards "columns"."""
    if primitive == "cond" and k == len(flags) - 1:
        return flags[1:]
    if k == len(flags) and primitive != "while":
        return flags
    return [True] * k


def _observation_shaped(aval, n) -> bool:
    shape = getattr(aval, "shape", ())
    return len(shape) >= 1 and shape[0] == n
