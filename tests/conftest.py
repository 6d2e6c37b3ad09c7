"""Each chapter executes once per test run: nbmake runs it, the book build reuses its outputs.

When nbmake collects the chapters, every notebook item is pointed at a copy of its notebook
under ``_build/executed/``, a mirror of the repository in which the notebooks are real copies
and every other entry is a symlink (so paths relative to a chapter resolve as they do in
``book/``), and nbmake's ``--overwrite`` is switched on: the executed notebooks land in the
mirror, never in the committed ``book/*.ipynb``. The mirror's ``_config.yml`` is the book's with
execution off, and the tests marked ``book`` (the build and the page check) run after every
chapter, so ``tests/test_book.py`` builds the mirror from nbmake's outputs. Without nbmake in
the session (``-p no:nbmake``, or only ``tests/test_book.py`` selected), or with only some
chapters selected, the build executes the chapters itself.
"""

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "executed"
_MIRRORED = pytest.StashKey[list]()


def _mirror(source: Path, target: Path) -> None:
    """``target`` mirrors ``source``: notebooks copied, folders holding notebooks mirrored,
    everything else symlinked; hidden entries and ``_build`` left out."""
    target.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.name == "_build":
            continue
        if entry.suffix == ".ipynb":
            shutil.copyfile(entry, target / entry.name)
        elif entry.is_dir() and not entry.is_symlink() and any(entry.rglob("*.ipynb")):
            _mirror(entry, target / entry.name)
        else:
            (target / entry.name).symlink_to(entry)


def _write_config_without_execution(target: Path) -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (target / "_config.yml").unlink()
    (target / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only the chapters that will run
def pytest_collection_modifyitems(session, config, items):
    notebooks = [item for item in items if getattr(item, "nbmake", False)]
    sources = [Path(item.filename).resolve() for item in notebooks]
    if notebooks and all(source.is_relative_to(ROOT) for source in sources):
        shutil.rmtree(EXECUTED, ignore_errors=True)
        _mirror(ROOT, EXECUTED)
        _write_config_without_execution(EXECUTED)
        copies = [EXECUTED / source.relative_to(ROOT) for source in sources]
        for item, copy in zip(notebooks, copies):
            item.filename = str(copy)  # nbmake runs, and with --overwrite writes, the copy
        config.option.overwrite = True
        config.stash[_MIRRORED] = copies
    # The build reuses nbmake's outputs, so it runs after every chapter (a stable sort).
    items.sort(key=lambda item: item.get_closest_marker("book") is not None)


@pytest.fixture(scope="session")
def executed_chapters(request):
    """The notebooks nbmake executes into ``_build/executed/`` in this session; [] without nbmake."""
    return request.config.stash.get(_MIRRORED, [])


@pytest.fixture
def spy_on_adam(monkeypatch):
    """A function that starts recording the parameter groups handed to ``torch.optim.Adam`` and
    returns the (growing) list they are recorded in."""
    import torch

    def start():
        seen, original = [], torch.optim.Adam

        def spy(groups, lr):
            seen.extend(groups)
            return original(groups, lr=lr)

        monkeypatch.setattr(torch.optim, "Adam", spy)
        return seen

    return start
