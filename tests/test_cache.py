"""``jaxmle.enable_compilation_cache``: a second process loads the fit compiled by the first."""

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

import jaxmle

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    import jaxmle
    saved = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, secs, **kw: saved.append(secs) if name.endswith("compile_time_saved_sec") else None)
    path = jaxmle.enable_compilation_cache(sys.argv[1])
    x = np.random.default_rng(0).normal(1.0, 2.0, 50)
    res = jaxmle.maximize(lambda p, x: jax.scipy.stats.norm.logpdf(x, p["mu"], p["sigma"]),
                          {"mu": 0.0, "sigma": 1.0}, x, constraints={"sigma": "positive"})
    print(json.dumps({"path": str(path), "loaded": len(saved), "mu": float(res.params["mu"])}))
    """
)


def _run(directory):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(directory)], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_compiled_fit(tmp_path):
    directory = tmp_path / "cache" / "xla"  # created on demand
    first = _run(directory)
    assert first["path"] == str(directory) and first["loaded"] == 0
    assert any(directory.iterdir()), "the first process wrote no compiled program"
    second = _run(directory)
    assert second["loaded"] >= 1, "the second process compiled the fit again instead of loading it"
    assert second["mu"] == first["mu"]


def test_bad_directory_is_named():
    with pytest.raises(TypeError, match="directory"):
        jaxmle.enable_compilation_cache(3)


def test_default_directory_follows_xdg(monkeypatch, tmp_path):
    from jaxmle._cache import default_cache_directory

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_directory() == tmp_path / "jaxmle" / "xla"
