"""Hypotheses written with parameter names, as linear restrictions ``R theta = q``.

``parse_hypotheses("beta[1] - 2*beta[2] = 0, sigma = 1", names)`` returns ``(R, q)``: one row per
comma-separated equation, in the flat constrained parameters named by ``names`` (``res.names``).
Each side is a linear combination of parameter names and numbers (``+ - * /`` and parentheses);
anything non-linear or an unknown name is an error that quotes the text.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][\w.]*(?:\s*\[[^\[\]]*\])*")
_IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[")


@dataclasses.dataclass(frozen=True)
class _Linear:
    """A linear form ``sum_j coef[j] * theta_j + const``."""

    coef: dict
    const: float

    @property
    def is_const(self) -> bool:
        return all(c == 0.0 for c in self.coef.values())

    def scaled(self, c: float) -> "_Linear":
        return _Linear({n: c * v for n, v in self.coef.items()}, c * self.const)

    def plus(self, other: "_Linear", sign: float = 1.0) -> "_Linear":
        coef = dict(self.coef)
        for n, v in other.coef.items():
            coef[n] = coef.get(n, 0.0) + sign * v
        return _Linear(coef, self.const + sign * other.const)


def parse_hypotheses(spec, names) -> tuple[np.ndarray, np.ndarray]:
    """``(R, q)`` of shapes (r, k) and (r,) from hypotheses written in parameter ``names``.

    ``spec`` is a string of equations separated by ``,``/``;``/newlines (commas inside names such
    as ``theta[1,2]`` belong to the name), a list of such strings, or a dict
    ``{linear expression: value}``. Each equation is ``expr = expr`` (or ``expr``, meaning
    ``= 0``) with ``expr`` a linear combination of names and numbers (``+ - * /``, parentheses);
    a product of two parameters is rejected.
    """
    names = tuple(names)
    rows: list[tuple[_Linear, str]] = []
    if isinstance(spec, dict):
        if not spec:
            raise ValueError("wald_test: the dict of hypotheses is empty")
        for key, value in spec.items():
            if not isinstance(key, str):
                raise ValueError(f"wald_test: dict keys must be parameter names (strings), got {key!r}")
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"wald_test: the value for {key!r} must be a number, got {value!r}") from None
            tokens = _tokenize(key, names)
            if any(t == ("op", "=") for t in tokens):
                raise ValueError(f"wald_test: dict key {key!r} contains '='; use {{expression: value}} or the string form")
            parts = _split(tokens, key)
            if len(parts) != 1:
                raise ValueError(f"wald_test: dict key {key!r} must be a single expression (no ',' or ';')")
            lhs = _Parser(parts[0], key).expression_only()
            rows.append((lhs.plus(_Linear({}, v), -1.0), key))
    else:
        texts = [spec] if isinstance(spec, str) else list(spec)
        for text in texts:
            for part in _split(_tokenize(text, names), text):
                rows.append((_Parser(part, text).equation(), _untokenize(part)))
    R = np.zeros((len(rows), len(names)))
    q = np.zeros(len(rows))
    index = {n: j for j, n in enumerate(names)}
    for i, (form, label) in enumerate(rows):
        for n, c in form.coef.items():
            R[i, index[n]] += c
        q[i] = -form.const
        if not np.any(R[i] != 0.0):
            raise ValueError(f"wald_test: the hypothesis {label!r} involves no parameter (its coefficients cancel)")
        if not (np.all(np.isfinite(R[i])) and np.isfinite(q[i])):
            raise ValueError(f"wald_test: the hypothesis {label!r} has a non-finite coefficient")
    return R, q


def _tokenize(text: str, names: tuple) -> list[tuple[str, Any]]:
    """Tokens ``(kind, value)``: ``("name", str)``, ``("num", float)``, ``("op", c)``, ``("sep", c)``."""
    by_length = sorted(names, key=len, reverse=True)
    out: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        matched = None
        for name in by_length:  # known names first: they may contain characters like ',' or '-'
            if text.startswith(name, i) and (i + len(name) >= n or text[i + len(name)] not in _IDENT_CHARS):
                matched = name
                break
        if matched is not None:
            out.append(("name", matched))
            i += len(matched)
            continue
        m = _NUMBER.match(text, i)
        if m:
            out.append(("num", float(m.group())))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            ident = re.sub(r"\s+", "", m.group())
            if ident not in names:
                raise ValueError(_unknown_name(ident, names))
            out.append(("name", ident))
            i = m.end()
            continue
        if c in "+-*/()=":
            out.append(("op", c))
        elif c in ",;\n":
            out.append(("sep", c))
        else:
            raise ValueError(f"wald_test: unexpected character {c!r} at position {i} in {text!r}")
        i += 1
    return out


def _unknown_name(ident: str, names: tuple) -> str:
    stem = ident.split("[")[0]
    close = [n for n in names if n.split("[")[0] == stem]
    hint = f"; did you mean one of {', '.join(close[:8])}{', ...' if len(close) > 8 else ''}?" if close else ""
    shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    return f"wald_test: unknown parameter {ident!r}{hint} (parameters: {shown})"


def _split(tokens, text):
    parts, current = [], []
    for t in tokens:
        if t[0] == "sep":
            parts.append(current)
            current = []
        else:
            current.append(t)
    parts.append(current)
    if any(not p for p in parts):
        raise ValueError(f"wald_test: empty hypothesis in {text!r} (a stray separator?)")
    return parts


def _untokenize(tokens) -> str:
    return " ".join(str(v) if k != "num" else f"{v:g}" for k, v in tokens)


class _Parser:
    """Recursive descent over one equation: ``expr ('=' expr)?``, linear forms only."""

    def __init__(self, tokens, text):
        self.tokens, self.pos, self.text = tokens, 0, text

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _fail(self, what: str):
        tok = self._peek()
        where = f"at {tok[1]!r}" if tok is not None else "at the end"
        raise ValueError(f"wald_test: cannot parse {self.text!r}: {what} {where}")

    def equation(self) -> _Linear:
        lhs = self._expr()
        if self._peek() == ("op", "="):
            self.pos += 1
            rhs = self._expr()
        else:
            rhs = _Linear({}, 0.0)
        if self._peek() is not None:
            self._fail("expected an operator (write 2*beta[1], not 2 beta[1]) or the end of the hypothesis")
        return lhs.plus(rhs, -1.0)

    def expression_only(self) -> _Linear:
        out = self._expr()
        if self._peek() is not None:
            self._fail("expected an operator or the end of the expression")
        return out

    def _expr(self) -> _Linear:
        out = self._term()
        while self._peek() in (("op", "+"), ("op", "-")):
            sign = 1.0 if self.tokens[self.pos][1] == "+" else -1.0
            self.pos += 1
            out = out.plus(self._term(), sign)
        return out

    def _term(self) -> _Linear:
        out = self._unary()
        while self._peek() in (("op", "*"), ("op", "/")):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self._unary()
            if op == "*":
                if out.is_const:
                    out = right.scaled(out.const)
                elif right.is_const:
                    out = out.scaled(right.const)
                else:
                    raise ValueError(
                        f"wald_test: {self.text!r} multiplies parameters together; only linear hypotheses "
                        "(numbers times parameters) can be tested"
                    )
            else:
                if not right.is_const:
                    raise ValueError(f"wald_test: {self.text!r} divides by a parameter; only linear hypotheses can be tested")
                if right.const == 0.0:
                    raise ValueError(f"wald_test: {self.text!r} divides by zero")
                out = out.scaled(1.0 / right.const)
        return out

    def _unary(self) -> _Linear:
        tok = self._peek()
        if tok in (("op", "+"), ("op", "-")):
            self.pos += 1
            inner = self._unary()
            return inner if tok[1] == "+" else inner.scaled(-1.0)
        return self._atom()

    def _atom(self) -> _Linear:
        tok = self._peek()
        if tok is None:
            self._fail("expected a number or a parameter name")
        kind, value = tok
        if kind == "num":
            self.pos += 1
            return _Linear({}, value)
        if kind == "name":
            self.pos += 1
            return _Linear({value: 1.0}, 0.0)
        if tok == ("op", "("):
            self.pos += 1
            inner = self._expr()
            if self._peek() != ("op", ")"):
                self._fail("expected ')'")
            self.pos += 1
            return inner
        self._fail("expected a number or a parameter name")
        raise AssertionError  # pragma: no cover
