"""The map from the paper's numbered equations to the ``mcdrop`` code that implements them.

Every docstring in ``mcdrop`` cites a paper equation in one form, ``paper eq. (N)`` with
N = 1..8, and each equation the book displays carries the label ``paper-eq-N``. The
``paper-equation-map`` directive reads the docstrings (with :mod:`ast`, nothing is imported)
and renders one table row per equation: a link to where the book displays it and a link to
every public function, class or method whose docstring cites it. ``tests/test_equation_map.py``
uses :func:`citations` for its checks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

PACKAGE = Path(__file__).resolve().parents[2] / "mcdrop"
CITATION = re.compile(r"paper eq\. \((\d+)\)")
EQUATIONS = {
    1: "dropout objective",
    2: "Bayesian predictive distribution",
    3: "variational objective",
    4: "L_GP-MC, the MC estimate of the objective",
    5: "approximate predictive distribution",
    6: "MC dropout predictive mean",
    7: "model precision from weight decay",
    8: "MC estimate of the test log-likelihood",
}


def docstrings(package: Path = PACKAGE):
    """Every docstring in the package's modules as ``(qualified name, kind, text)``.

    ``kind`` is ``"module"``, ``"function"``, ``"class"`` or ``"method"``; private objects
    (a leading underscore anywhere in the name) are included and flagged by their name.
    """
    found = []
    for path in sorted(package.glob("*.py")):
        module = f"{package.name}.{path.stem}"
        tree = ast.parse(path.read_text(), filename=str(path))
        found.append((module, "module", ast.get_docstring(tree) or ""))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                found.append((f"{module}.{node.name}", kind, ast.get_docstring(node) or ""))
                if kind == "class":
                    found += [(f"{module}.{node.name}.{item.name}", "method", ast.get_docstring(item) or "")
                              for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return found


def is_public(name: str) -> bool:
    """No part of the dotted name after the package starts with an underscore."""
    return not any(part.startswith("_") for part in name.split(".")[1:])


def citations(package: Path = PACKAGE) -> dict:
    """``{N: [(qualified name, kind), ...]}`` for every public object whose docstring cites
    ``paper eq. (N)``."""
    cited = {}
    for name, kind, text in docstrings(package):
        if kind != "module" and is_public(name):
            for number in sorted({int(n) for n in CITATION.findall(text)}):
                cited.setdefault(number, []).append((name, kind))
    return cited


ROLES = {"function": "py:func", "class": "py:class", "method": "py:meth"}


class PaperEquationMap(Directive):
    """A list-table: paper equation, where the book displays it, the code whose docstring cites it."""

    def run(self):
        cited = citations()
        lines = [".. list-table:: The paper's equations and the code that cites them",
                 "   :header-rows: 1", "   :widths: 10 30 15 45", "",
                 "   * - paper eq.", "     - what", "     - displayed in the book", "     - code citing it"]
        for number, what in EQUATIONS.items():
            code = ", ".join(f":{ROLES[kind]}:`~{name}`" for name, kind in cited.get(number, []))
            lines += [f"   * - \\({number})", f"     - {what}", f"     - :eq:`paper-eq-{number}`",
                      f"     - {code or 'none'}"]
        container = nodes.Element()
        self.state.nested_parse(StringList(lines, source="paper-equation-map"), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("paper-equation-map", PaperEquationMap)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
