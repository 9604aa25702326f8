"""Solver status codes: data inside ``jit`` (one per fit under ``vmap``), messages outside."""

RUNNING = -1
CONVERGED = 0
MAX_ITER = 1
STALLED = 2
NONFINITE = 3
UNBOUNDED = 4

MESSAGES = {
    RUNNING: "running",
    CONVERGED: "converged",
    MAX_ITER: "iteration limit reached before convergence",
    STALLED: "no further decrease possible along the search direction before the gradient criterion was met",
    NONFINITE: "non-finite log-likelihood, gradient or curvature",
    UNBOUNDED: "no finite maximum: the log-likelihood keeps rising along a direction where it is flat "
               "(e.g. perfect separation)",
}


def message(code: int) -> str:
    return MESSAGES.get(int(code), f"unknown status {int(code)}")
