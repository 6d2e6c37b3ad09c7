"""The map from the paper's equations (1)–(8) to the code and the book holds in both directions.

Code side: every equation is cited by at least one docstring in ``mcdrop``, always in the one
form ``paper eq. (N)``, and every docstring that cites one names its chapter. Book side: every
equation is displayed with the label ``paper-eq-N`` exactly once, every ``{eq}`` reference
names a label that exists, and the API page documents every public module.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import equation_map  # noqa: E402  (book/_ext is not a package)

PAPER_EQUATIONS = range(1, 9)
CANONICAL = re.compile(r"paper eq\. \((\d+)\)")
# "eq." or "eqs." in any case, as a word: each must be part of a canonical citation.
ABBREVIATION = re.compile(r"\beqs?\.", re.IGNORECASE)
CHAPTER = re.compile(r"\bchapters? \d+")
LABEL_DEFINITION = r"(?:\$\$[ \t]*\({label}\)|:label:[ \t]*{label}[ \t]*$)"
EQ_REFERENCE = re.compile(r"\{eq\}`([^`]+)`")
ANY_LABEL = re.compile(LABEL_DEFINITION.format(label=r"([\w-]+)"), re.MULTILINE)


def _non_canonical(text):
    """Every "eq."/"eqs." in ``text`` that is not part of a ``paper eq. (N)`` with N in 1..8."""
    allowed = set()
    for match in CANONICAL.finditer(text):
        if int(match.group(1)) in PAPER_EQUATIONS:
            allowed.add(match.start() + len("paper "))
    return [text[max(0, m.start() - 20):m.end() + 10] for m in ABBREVIATION.finditer(text) if m.start() not in allowed]


def test_the_form_check_tells_canonical_from_other_forms():
    assert _non_canonical("Implements paper eq. (7) (chapter 5); the mean of paper eq. (6).") == []
    for wrong in ("eq. 7", "eqs. (5)–(8)", "(eq. 8)", "Eq. (3)", "the paper's eq. (4)", "paper eq. (9)",
                  "paper eq. 7", "R&W eq. 2.30"):
        assert _non_canonical(f"Implements {wrong}."), wrong


@pytest.mark.parametrize("number", PAPER_EQUATIONS)
def test_every_paper_equation_is_cited_by_code(number):
    assert equation_map.citations().get(number), (
        f"no docstring in mcdrop cites paper eq. ({number}) ({equation_map.EQUATIONS[number]}); "
        "cite it in the function that implements it")


def test_docstrings_cite_paper_equations_in_one_form():
    problems = [f"{name}: {snippet!r}" for name, _, text in equation_map.docstrings() for snippet in _non_canonical(text)]
    assert not problems, ("cite the paper as 'paper eq. (N)', N = 1..8, and spell other books' "
                          "equations out ('R&W equation 2.30'):\n" + "\n".join(problems))


def test_docstrings_that_cite_an_equation_name_a_chapter():
    missing = [name for name, _, text in equation_map.docstrings() if CANONICAL.search(text) and not CHAPTER.search(text)]
    assert not missing, "these docstrings cite a paper equation but name no chapter: " + ", ".join(missing)


def _book_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [path for entry in entries for path in (ROOT / f"{entry}.ipynb", ROOT / f"{entry}.md") if path.is_file()]


def _markdown(path):
    if path.suffix == ".md":
        return path.read_text()
    notebook = nbformat.read(path, as_version=4)
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


@pytest.fixture(scope="module")
def book_markdown():
    return {path.relative_to(ROOT).as_posix(): _markdown(path) for path in _book_pages()}


@pytest.mark.parametrize("number", PAPER_EQUATIONS)
def test_every_paper_equation_is_labelled_once_in_the_book(number, book_markdown):
    label = re.compile(LABEL_DEFINITION.format(label=f"paper-eq-{number}"), re.MULTILINE)
    places = [page for page, text in book_markdown.items() for _ in label.finditer(text)]
    assert len(places) == 1, (
        f"paper-eq-{number} ({equation_map.EQUATIONS[number]}) must be labelled exactly once in the book "
        f"('$$ ... $$ (paper-eq-{number})' or ':label: paper-eq-{number}'); found in {places or 'no page'}")


def test_every_eq_reference_names_a_label(book_markdown):
    # two alternatives, two groups: findall gives (dollar_label, directive_label) pairs
    labels = {a or b for text in book_markdown.values() for a, b in ANY_LABEL.findall(text)}
    dangling = [f"{page}: {target}" for page, text in book_markdown.items()
                for target in EQ_REFERENCE.findall(text) if target not in labels]
    assert not dangling, "{eq} references without a labelled equation:\n" + "\n".join(dangling)


def test_the_api_page_documents_every_public_module():
    api = (ROOT / "book" / "api.md").read_text()
    documented = set(re.findall(r"^\.\. automodule:: (mcdrop\.\w+)$", api, re.MULTILINE))
    public = {f"mcdrop.{path.stem}" for path in (ROOT / "mcdrop").glob("*.py") if not path.stem.startswith("_")}
    assert public <= documented, f"add to book/api.md: {sorted(public - documented)}"


def _chapter_titles():
    titles = {}
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*")):
        heading = re.search(r"^# (.+)$", _markdown(path), re.MULTILINE)
        titles[int(path.name[:2])] = heading.group(1).strip() if heading else ""
    return titles


def test_chapters_named_in_docstrings_exist_under_their_titles():
    titles = _chapter_titles()
    problems = []
    for name, _, text in equation_map.docstrings():
        flat = " ".join(text.split())
        for listed in re.findall(r"\bchapters? (\d+(?:(?:, | and )\d+)*)", flat):
            problems += [f"{name}: chapter {n} does not exist" for n in map(int, re.findall(r"\d+", listed)) if n not in titles]
        for number, title in re.findall(r"\bchapter (\d+), \"([^\"]+)\"", flat):
            if not titles.get(int(number), "").startswith(title):
                problems.append(f"{name}: chapter {number} is titled {titles.get(int(number))!r}, not {title!r}")
    assert not problems, "\n".join(problems)
