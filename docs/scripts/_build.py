"""Run the guide's scripts and record what they print, section by section.

Every ``docs/scripts/<page>.py`` (except the files starting with ``_``) is the runnable source of
one page. It has

* ``main(img_dir=None)``: runs the example, asserts the numbers the page quotes, writes its
  figures as PNGs into ``img_dir`` (default ``docs/img``) and returns a dict of those numbers;
* ``PAGE``: the page, relative to ``docs/`` (``"guide/coin.md"``);
* ``QUOTED``: ``{key: text}``, how the page writes the number ``main()[key]``. ``check_quoted``
  asserts that each number rounds to its text and that the text occurs in the page.

The code a page shows is marked with snippet sections (``# --8<-- [start:fit]`` /
``# --8<-- [end:fit]``) and included with ``pymdownx.snippets``. What the code prints is recorded
per section (the section of the script line that called ``print``) into ``docs/output/<page>.txt``,
with the same section markers, so a page includes ``docs/output/<page>.txt:fit`` right after
``docs/scripts/<page>.py:fit``.

``tests/test_docs.py`` reruns every script and compares its output with the recorded one (numbers
to a relative 1e-3, so a changed digit in the last printed place of a float is tolerated, any
other change is not). After an intended change, regenerate the outputs and figures with::

    python docs/scripts/_build.py            # every page
    python docs/scripts/_build.py coin       # one page
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import pathlib
import re
import sys

SCRIPTS = pathlib.Path(__file__).resolve().parent
DOCS = SCRIPTS.parent
OUTPUT = DOCS / "output"
IMG = DOCS / "img"

_MARKER = re.compile(r"--8<--\s*\[\s*(start|end)\s*:\s*([a-z][-_0-9a-z]*)\s*\]")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|(?<![A-Za-z])[-+]?(?:nan|inf)(?![A-Za-z])")


def scripts() -> list[pathlib.Path]:
    """The page scripts, sorted by name."""
    return sorted(p for p in SCRIPTS.glob("*.py") if not p.name.startswith("_"))


def load(path: pathlib.Path):
    """Import a page script as a module (without running ``main``)."""
    spec = importlib.util.spec_from_file_location(f"_docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(path: pathlib.Path) -> dict[str, tuple[int, int]]:
    """``{name: (first_line, last_line)}`` of the snippet sections of a script (1-based)."""
    found, open_ = {}, {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        m = _MARKER.search(line)
        if m is None:
            continue
        kind, name = m.groups()
        if kind == "start":
            open_[name] = lineno
        else:
            found[name] = (open_.pop(name), lineno)
    if open_:
        raise ValueError(f"{path.name}: section(s) {sorted(open_)} are never closed")
    return found


class _Recorder(io.TextIOBase):
    """A stdout that files each write under the snippet section of the script line that made it."""

    def __init__(self, path: pathlib.Path):
        self.filename = str(path)
        self.ranges = sections(path)
        self.chunks: dict[str, list[str]] = {name: [] for name in self.ranges}
        self.chunks[""] = []  # printed outside every section: not shown on the page

    def _section(self) -> str:
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                line = frame.f_lineno
                for name, (lo, hi) in self.ranges.items():
                    if lo < line < hi:
                        return name
            frame = frame.f_back
        return ""

    def write(self, text: str) -> int:
        self.chunks[self._section()].append(text)
        return len(text)

    def writable(self) -> bool:
        return True


def run(path: pathlib.Path, img_dir: pathlib.Path | None = None):
    """Run ``main`` of one script; return ``(module, result, recorded_output_text)``."""
    module = load(path)
    recorder = _Recorder(path)
    with contextlib.redirect_stdout(recorder):
        result = module.main(img_dir=img_dir)
    parts = []
    for name in recorder.ranges:
        text = "".join(recorder.chunks[name])
        if text:
            parts.append(f"--8<-- [start:{name}]\n{text.rstrip()}\n--8<-- [end:{name}]\n")
    return module, result, "".join(parts)


def check_quoted(module, result: dict) -> None:
    """Each number the page quotes rounds to the text the page uses, and that text is on the page."""
    page = (DOCS / module.PAGE).read_text()
    for key, text in module.QUOTED.items():
        value = float(result[key])
        mantissa, _, exponent = text.lower().partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        unit = 10.0 ** (int(exponent or 0) - decimals)  # one unit in the last quoted digit
        assert abs(value - float(text)) <= 0.5 * unit * (1 + 1e-9) + 1e-15, (
            f"{module.PAGE}: {key} = {value!r} no longer rounds to the quoted {text!r}"
        )
        assert text in page, f"{module.PAGE}: the quoted number {text!r} ({key}) is not on the page"


def _close(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    # Noise-level numbers (relative gradients 1e-17, a singular matrix's eigenvalue) are equal
    # when both are tiny; others to a relative 1e-3 or one unit of the last printed digit.
    if abs(x) < 1e-8 and abs(y) < 1e-8:
        return True
    decimals = len(a.split("e")[0].split("E")[0].split(".")[1]) if "." in a else 0
    ulp = 10.0 ** -decimals if "e" not in a.lower() else 0.0
    return abs(x - y) <= max(1e-3 * max(abs(x), abs(y)), 1.01 * ulp)


def same_output(recorded: str, fresh: str) -> tuple[bool, str]:
    """Compare two outputs: the text between numbers exactly, the numbers by :func:`_close`."""
    a_lines, b_lines = recorded.splitlines(), fresh.splitlines()
    if len(a_lines) != len(b_lines):
        return False, f"{len(a_lines)} recorded lines, {len(b_lines)} now"
    for i, (a, b) in enumerate(zip(a_lines, b_lines), start=1):
        a_text, b_text = _NUMBER.split(a), _NUMBER.split(b)
        a_num, b_num = _NUMBER.findall(a), _NUMBER.findall(b)
        ok = len(a_num) == len(b_num) and all(_close(x, y) for x, y in zip(a_num, b_num))
        # column alignment may shift by a character when a number gains a digit
        ok = ok and [t.strip() for t in a_text] == [t.strip() for t in b_text]
        if not ok:
            return False, f"line {i}:\n  recorded: {a}\n  now:      {b}"
    return True, ""


def main(names: list[str]) -> None:
    OUTPUT.mkdir(exist_ok=True)
    IMG.mkdir(exist_ok=True)
    for path in scripts():
        if names and path.stem not in names:
            continue
        module, result, text = run(path, IMG)
        check_quoted(module, result)
        (OUTPUT / f"{path.stem}.txt").write_text(text)
        print(f"{path.stem}: {len(result)} quoted numbers checked; wrote output/{path.stem}.txt")


if __name__ == "__main__":
    main(sys.argv[1:])
