"""`.ci/run` runs exactly the test command the README gives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands(text):
    blocks = text.split("```bash\n")[1:]
    return [block.split("```")[0].strip() for block in blocks]


def test_ci_runs_the_readme_test_command():
    readme_commands = _commands((ROOT / "README.md").read_text())
    test_command = next(c for c in readme_commands if "pytest" in c)
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert test_command in ci_lines


def test_intro_shows_the_same_two_commands():
    intro = (ROOT / "book" / "intro.md").read_text()
    for command in _commands((ROOT / "README.md").read_text()):
        assert command in intro
