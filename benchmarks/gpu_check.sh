#!/usr/bin/env bash
# The GPU check of issue 5, as one script: W1, W3 and W4 in float64 and float32 (bench_gpu.py),
# then the test suite, on a machine whose python3 has a CUDA build of JAX, statsmodels, scipy,
# optax, chex and pytest(-xdist) installed (the package is used from this checkout, not installed).
# Logs go to $OUT (or ./gpu-out). Each stage has its own time limit, so one that hangs does not
# cost the other its results.
#
#     bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import sys, jax, numpy, scipy, statsmodels, optax; print(sys.version.split()[0], 'jax', jax.__version__, \
jax.devices(), 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'statsmodels', statsmodels.__version__, \
'optax', optax.__version__)"
    nproc
} 2>&1 | tee "$OUT/env.txt"
timeout "${BENCH_TIMEOUT:-200}" python3 benchmarks/bench_gpu.py --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench.txt"
echo "bench exit: $?"
timeout "${TEST_TIMEOUT:-330}" python3 -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-12}" \
    2>&1 | tee "$OUT/tests.txt" | tail -60
echo "tests exit: $?"
