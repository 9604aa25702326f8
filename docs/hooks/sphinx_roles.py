"""A Griffe extension: turn the Sphinx roles in jaxmle's docstrings into checked cross-references.

jaxmle's docstrings are Google style but refer to other objects with Sphinx roles
(``:func:`maximize```, ``:class:`MLEResult```, ``:meth:`conf_int```), which Markdown would show
literally. This extension rewrites each role before mkdocstrings renders the docstring:

* a role naming a public object (a name of ``jaxmle.__all__``, ``jaxmle.priors.__all__`` or
  ``jaxmle.models.__all__``, resolved from the docstring's own namespace first, or a documented
  method or property of a public class) becomes a cross-reference, ``[`name`][jaxmle.path]``,
  which ``mkdocs build --strict`` checks;
* any other target (private modules and helpers, other packages) becomes inline code.

Loaded by ``mkdocs.yml`` (``plugins: mkdocstrings: ... extensions``).
"""

from __future__ import annotations

import re

import griffe

import jaxmle

_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):`~?([^`]+?)(?:\(\))?`")


def _public_index() -> dict[str, object]:
    """``{"jaxmle.maximize": <object>, "jaxmle.priors.normal": <object>, ...}``."""
    index = {f"jaxmle.{name}": getattr(jaxmle, name) for name in jaxmle.__all__}
    for sub in ("priors", "models"):
        module = getattr(jaxmle, sub)
        index.update({f"jaxmle.{sub}.{name}": getattr(module, name) for name in module.__all__})
    return index


def _documented_member(index: dict, owner: str, member: str) -> str | None:
    """``owner.member`` when ``owner`` is a public class and ``member`` a documented public attribute."""
    cls = index.get(owner)
    if not isinstance(cls, type) or member.startswith("_"):
        return None
    attr = getattr(cls, member, None)
    return f"{owner}.{member}" if attr is not None and getattr(attr, "__doc__", None) else None


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`target``` in every docstring of the package (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.index = _public_index()

    def _resolve(self, target: str, obj: griffe.Object) -> str | None:
        module = obj.module.path  # e.g. "jaxmle.models._model": prefer names of its own namespace
        namespaces = [ns for ns in ("jaxmle.models", "jaxmle.priors") if module.startswith(ns)] + ["jaxmle"]
        if target.startswith("jaxmle."):
            head, _, member = target.rpartition(".")
            return target if target in self.index else _documented_member(self.index, head, member)
        first, _, rest = target.partition(".")
        for ns in namespaces:
            path = f"{ns}.{first}"
            if path in self.index:
                return path if not rest else _documented_member(self.index, path, rest)
        # a bare method or attribute name inside a class's docstrings: that class's member
        cls = obj if obj.is_class else obj.parent if obj.parent is not None and obj.parent.is_class else None
        if cls is not None and not rest:
            for ns in namespaces:
                found = _documented_member(self.index, f"{ns}.{cls.name}", target)
                if found:
                    return found
        return None

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:  # noqa: D102
        if obj.docstring is None or ":" not in obj.docstring.value:
            return

        def replace(match: re.Match) -> str:
            target = match.group(1).strip()
            path = self._resolve(target, obj)
            shown = target.rpartition(".")[2] if path else target
            return f"[`{shown}`][{path}]" if path else f"`{target}`"

        obj.docstring.value = _ROLE.sub(replace, obj.docstring.value)
