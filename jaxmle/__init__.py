"""jaxmle: maximum-likelihood estimation in JAX with honest standard errors.

The public API (see ``API.md``); everything else lives in private modules.
"""

from . import models as models
from . import priors as priors
from ._bootstrap import bootstrap as bootstrap
from ._bootstrap_result import BootstrapResult as BootstrapResult
from ._cache import enable_compilation_cache as enable_compilation_cache
from ._hypothesis import TestResult as TestResult
from ._hypothesis import lr_test as lr_test
from ._hypothesis import score_test as score_test
from ._hypothesis import wald_test as wald_test
from ._maximize import maximize as maximize
from ._multistart import MultistartResult as MultistartResult
from ._multistart import multistart as multistart
from ._profile import ProfileResult as ProfileResult
from ._profile import profile as profile
from ._result import DeltaResult as DeltaResult
from ._solve import Solution as Solution
from ._stream import maximize_stream as maximize_stream
from ._solve import Solver as Solver
from ._solve import make_solver as make_solver
from ._result import MLEResult as MLEResult
from ._warnings import BoundaryWarning as BoundaryWarning
from ._warnings import ConvergenceWarning as ConvergenceWarning
from ._warnings import HessianWarning as HessianWarning
from ._warnings import JaxmleWarning as JaxmleWarning
from ._warnings import ProfileWarning as ProfileWarning

__version__ = "0.1.0"

__all__ = [
    "maximize",
    "maximize_stream",
    "multistart",
    "MultistartResult",
    "bootstrap",
    "BootstrapResult",
    "make_solver",
    "Solver",
    "Solution",
    "MLEResult",
    "DeltaResult",
    "JaxmleWarning",
    "ConvergenceWarning",
    "HessianWarning",
    "BoundaryWarning",
    "ProfileWarning",
    "lr_test",
    "wald_test",
    "score_test",
    "TestResult",
    "profile",
    "ProfileResult",
    "priors",
    "models",
    "enable_compilation_cache",
]
