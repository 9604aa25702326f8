"""Warning hierarchy of jaxmle (as statsmodels' ``ConvergenceWarning`` family).

Numerical trouble is reported, never hidden: the eager wrappers (``maximize``) turn the status
codes computed inside ``jit`` into these warnings, and :func:`warn` attributes each to the user's
line that called into jaxmle (however deep inside jaxmle it is raised, e.g. via ``models.fit``).
"""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type) -> None:
    """``warnings.warn`` with the stack level of the first caller outside the jaxmle package."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


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
