"""The mirror nbmake executes into never writes through to the repository's notebooks."""

import yaml

import conftest


def test_mirror_copies_notebooks_and_links_everything_else(tmp_path):
    source = tmp_path / "repo"
    (source / "book" / "_ext").mkdir(parents=True)
    (source / "book" / "ch.ipynb").write_text("committed")
    (source / "book" / "intro.md").write_text("intro")
    (source / "book" / "_ext" / "ext.py").write_text("")
    (source / "results").mkdir()
    (source / ".git").mkdir()
    (source / "_build").mkdir()
    target = tmp_path / "mirror"

    conftest._mirror(source, target)

    copy = target / "book" / "ch.ipynb"
    assert copy.is_file() and not copy.is_symlink()
    copy.write_text("executed")  # what nbmake --overwrite does to the copy
    assert (source / "book" / "ch.ipynb").read_text() == "committed"
    assert (target / "book" / "intro.md").is_symlink() and (target / "book" / "_ext").is_symlink()
    assert (target / "results").resolve() == (source / "results").resolve()
    assert not (target / ".git").exists() and not (target / "_build").exists()


def test_mirror_config_turns_execution_off_and_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "ROOT", tmp_path / "repo")
    conftest.ROOT.mkdir()
    (conftest.ROOT / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: force\n  timeout: 300\n")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "_config.yml").symlink_to(conftest.ROOT / "_config.yml")

    conftest._write_config_without_execution(tmp_path / "mirror")

    assert yaml.safe_load((tmp_path / "mirror" / "_config.yml").read_text()) == {
        "title": "t", "execute": {"execute_notebooks": "off", "timeout": 300}}
    assert "force" in (conftest.ROOT / "_config.yml").read_text()
