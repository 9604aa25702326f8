"""Solver status codes: data inside ``jit`` (one per fit under ``vmap``), messages outside."""

RUNNING = -1
CONVERGED = 0
MAX_ITER = 1
STALLED = 2
NONFINITE = 3
UNBOUNDED = 4
WALL = 5

MESSAGES = {
    RUNNING: "running",
    CONVERGED: "converged",
    MAX_ITER: "iteration limit reached before convergence",
    STALLED: "no further decrease possible along the search direction before the gradient criterion was met",
    NONFINITE: "non-finite log-likelihood, gradient or curvature",
    UNBOUNDED: "no finite maximum: the log-likelihood keeps rising along a direction where it is flat "
               "(e.g. perfect separation)",
    WALL: "no further decrease: the steps along the search direction reached points where the log-likelihood is "
          "not finite (an overflow or log(0) in the model? write it in log space: jax.nn.log_sigmoid, logsumexp, "
          "log1p)",
}


def message(code: int) -> str:
    return MESSAGES.get(int(code), f"unknown status {int(code)}")
