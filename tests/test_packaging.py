"""pyproject.toml declares what mcdrop imports at run time, in ranges that admit the exact pins
of requirements.txt, so that `pip install .` works outside the book's environment too."""

import ast
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
IMPORT_NAMES = {"scikit-learn": "sklearn"}
# mcdrop.booktools glues numbers into the book; only the book (pinned in requirements.txt) calls it.
BOOK_ONLY = {"myst_nb"}


def _declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(r).name: Requirement(r) for r in project["dependencies"]}


def _third_party_imports():
    names = set()
    for path in (ROOT / "mcdrop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"mcdrop"} - BOOK_ONLY


def test_every_third_party_import_is_a_declared_dependency():
    declared = {IMPORT_NAMES.get(name, name) for name in _declared()}
    assert _third_party_imports() <= declared


def test_declared_ranges_admit_the_exact_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower()] = version
    for name, requirement in _declared().items():
        assert name in pins, f"{name} is a dependency but has no exact pin in requirements.txt"
        assert requirement.specifier.contains(pins[name]), f"{requirement} excludes the pinned {pins[name]}"
