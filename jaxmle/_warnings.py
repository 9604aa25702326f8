"""Warning hierarchy of jaxmle (as statsmodels' ``ConvergenceWarning`` family).

Numerical trouble is reported, never hidden: the eager wrappers (``maximize``) turn the status
codes computed inside ``jit`` into these warnings.
"""


class JaxmleWarning(UserWarning):
    """Base class of every warning jaxmle emits."""


class ConvergenceWarning(JaxmleWarning):
    """The optimiser stopped without meeting its convergence criterion."""


class HessianWarning(JaxmleWarning):
    """The information matrix at the estimate is singular or not positive definite.

    The parameters involved get NaN standard errors; the warning names them.
    """


class BoundaryWarning(JaxmleWarning):
    """A constrained estimate sits (numerically) on the boundary of its support."""


class ProfileWarning(JaxmleWarning):
    """A profile-likelihood result is incomplete: the cut-off is not crossed inside the grid, an
    endpoint refit failed, or the profile rises above the fit's maximum."""
