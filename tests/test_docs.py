"""The documentation site cannot drift from the code.

* Every guide page's script (``docs/scripts/<page>.py``) runs under the test-suite's strict
  settings (jaxmle warnings are errors, rank promotion raises); its ``main()`` asserts the numbers
  the page quotes, each quoted number must round to the text on the page, and what it prints must
  match the recorded output the page shows (``docs/output/<page>.txt``).
* Every snippet a page includes exists, and the API reference lists every public name.
* ``mkdocs build --strict`` passes (skipped when the ``docs`` extra is not installed).

After an intended change to jaxmle's output, regenerate the recorded outputs and figures with
``python docs/scripts/_build.py`` (see ``docs/scripts/_build.py``).
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import jax
import pytest

import jaxmle

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load_build():
    spec = importlib.util.spec_from_file_location("_docs_build", DOCS / "scripts" / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_build = _load_build()
PAGES = [p.stem for p in _build.scripts()]


@pytest.mark.parametrize("page", PAGES)
def test_page_script(page, tmp_path):
    pytest.importorskip("matplotlib", reason="the guide's figures need matplotlib: pip install -e '.[docs]'")
    if page in ("coming_from", "losses"):
        pytest.importorskip("statsmodels", reason="the statsmodels comparison needs the test extra")
    path = DOCS / "scripts" / f"{page}.py"
    module, result, output = _build.run(path, tmp_path)
    assert (DOCS / module.PAGE).exists(), f"{page}.py names a page that does not exist: {module.PAGE}"
    assert set(module.QUOTED) <= set(result), f"{page}.py quotes numbers main() does not return"
    if jax.default_backend() != "cpu":  # the pages quote CPU runs; other backends round differently
        pytest.skip(f"the recorded output and quoted numbers are from the CPU backend, not {jax.default_backend()}")
    _build.check_quoted(module, result)
    for figure in tmp_path.glob("*.png"):  # drawn by the script: the committed copy must exist
        assert (DOCS / "img" / figure.name).exists(), f"docs/img/{figure.name} is missing: run docs/scripts/_build.py"
        assert figure.name in (DOCS / module.PAGE).read_text(), f"{module.PAGE} does not show {figure.name}"
    recorded = DOCS / "output" / f"{page}.txt"
    assert recorded.exists(), f"docs/output/{page}.txt is missing: run python docs/scripts/_build.py {page}"
    same, where = _build.same_output(recorded.read_text(), output)
    assert same, (f"docs/output/{page}.txt differs from what docs/scripts/{page}.py prints now ({where}); "
                  f"if the change is intended, run python docs/scripts/_build.py {page}")


_SNIPPET = re.compile(r'--8<--\s+"([^"]+)"')


def _snippet_references():
    for page in sorted(DOCS.rglob("*.md")):
        for ref in _SNIPPET.findall(page.read_text()):
            yield page.relative_to(DOCS), ref


@pytest.mark.parametrize("page, ref", list(_snippet_references()), ids=lambda x: str(x))
def test_snippet_exists(page, ref):
    path, _, section = ref.partition(":")
    target = ROOT / path
    assert target.exists(), f"{page} includes {path}, which does not exist"
    if section:
        assert section in _build.sections(target) if target.suffix == ".py" else (
            f"--8<-- [start:{section}]" in target.read_text()), f"{page} includes section {section!r} of {path}, which has none"


def test_api_page_lists_every_public_name():
    listed = set(re.findall(r"^::: (jaxmle[\w.]*)", (DOCS / "api.md").read_text(), flags=re.MULTILINE))
    public = {f"jaxmle.{name}" for name in jaxmle.__all__ if name not in ("priors", "models")}
    public |= {"jaxmle.priors", "jaxmle.models"}
    public |= {f"jaxmle.priors.{name}" for name in jaxmle.priors.__all__}
    public |= {f"jaxmle.models.{name}" for name in jaxmle.models.__all__}
    assert not public - listed, f"docs/api.md does not document {sorted(public - listed)}"
    assert not listed - public, f"docs/api.md documents names that are not public: {sorted(listed - public)}"


def test_mkdocs_build_strict(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "pymdownx"):
        pytest.importorskip(module, reason=f"{module} is not installed: pip install -e '.[docs]' to build the docs")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stderr[-4000:]}"
    assert (tmp_path / "site" / "api" / "index.html").exists()
