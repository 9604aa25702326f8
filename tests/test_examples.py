"""The README's main job and the examples run (smoke tests, so they never rot)."""

import pathlib
import runpy
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_demo_command_runs():
    out = subprocess.run([sys.executable, "-m", "jaxmle", "demo", "--n", "500"], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Student-t regression" in out.stdout
    assert "Converged:                       True" in out.stdout
    assert "error_var" in out.stdout  # the delta-method quantity


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_example_runs(script, capsys):
    module = runpy.run_path(str(ROOT / "examples" / script))
    result = module["main"]()
    assert result is not None
    if script == "many_fits_vmap.py":
        est, times = result
        np.testing.assert_allclose(est, 1.0 / times.mean(axis=1), rtol=1e-8)
    if script == "zero_inflated_poisson.py":
        assert result.converged and abs(result.params["pi"] - 0.3) < 0.06
