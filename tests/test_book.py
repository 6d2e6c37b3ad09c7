"""Build the book from scratch with warnings as errors, then load every page in Chromium.

In a full run nbmake has just executed every chapter into ``_build/executed/`` (see
``conftest.py``), and the book is built from those notebooks with execution off: each chapter
runs once, and an edit to ``mcdrop`` cannot hide behind a cached notebook. Without nbmake in
the session, or when it ran only some chapters, the build executes every chapter itself
(``execute_notebooks: force``). The browser check needs Debian's ``chromium``; without it a
local run skips that test with a reason, but CI (``CI`` set) fails.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "executed"
HTML = ROOT / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.book


def _not_executed_cleanly(path):
    """Why nbmake's copy at ``path`` is not a complete run, or "" when it is."""
    if not path.is_file():
        return f"{path.name}: no executed copy"
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "code" and cell.source.strip():
            if cell.execution_count is None:
                return f"{path.name}: cell {index} did not run"
            if any(output.output_type == "error" for output in cell.outputs):
                return f"{path.name}: cell {index} raised"
    return ""


@pytest.fixture(scope="module")
def build(executed_chapters):
    for output in (ROOT / "_build").iterdir() if (ROOT / "_build").is_dir() else []:
        if output == EXECUTED:
            continue
        if output.is_dir() and not output.is_symlink():
            shutil.rmtree(output)
        else:
            output.unlink()
    chapters = {path.relative_to(ROOT) for path in ROOT.glob("book/**/*.ipynb")
                if not any(part.startswith(".") for part in path.parts)}
    if executed_chapters and {path.relative_to(EXECUTED) for path in executed_chapters} >= chapters:
        problems = [p for p in map(_not_executed_cleanly, executed_chapters) if p]
        if problems:
            pytest.fail("the book is built from nbmake's executed chapters, and these did not run:\n"
                        + "\n".join(problems))
        source = ["build", str(EXECUTED), "--path-output", str(ROOT)]
    else:
        source = ["build", str(ROOT)]
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), *source, "-W", "-n", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True, timeout=1500,
    )


def test_book_builds_without_warnings(build):
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-5000:]


def _pages():
    """Every content page; the root ``index.html`` is only a redirect to the intro."""
    skip = {HTML / "index.html", HTML / "genindex.html", HTML / "search.html"}
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts and p not in skip)


def test_pages_render_offline_in_chromium(build):
    assert build.returncode == 0, "the book did not build"
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must check pages in a browser, but /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); page check skipped")
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for page_path in _pages():
            problems += _check_page(browser.new_page(), page_path)
        browser.close()
    assert not problems, "\n".join(problems)


def _check_page(page, path):
    name = path.relative_to(HTML)
    failed, remote = [], []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("request", lambda request: remote.append(request.url) if not request.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    has_math = page.locator(".math").count() > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
        page.evaluate("MathJax.startup.promise")
    broken_images = page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    visible_text = page.evaluate(
        "(() => { const b = document.body.cloneNode(true);"
        " b.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());"
        " return b.innerText; })()"
    )
    problems = [f"{name}: failed request {url}" for url in failed]
    problems += [f"{name}: request leaves the book {url}" for url in remote]
    problems += [f"{name}: image does not decode {src}" for src in broken_images]
    if has_math and page.locator("mjx-container").count() == 0:
        problems.append(f"{name}: math present but not typeset by MathJax")
    problems += [f"{name}: raw TeX delimiter {d!r} visible" for d in ("\\(", "\\[", "$$") if d in visible_text]
    if "{glue:" in path.read_text():  # a glue role MyST did not render, e.g. swallowed by a stray $
        problems.append(f"{name}: unrendered {{glue:...}} role in the page")
    page.close()
    return problems


def test_paper_equations_carry_the_papers_numbers(build):
    """A display labelled paper-eq-N reads (N), and so does every {eq} reference to it
    (book/_ext/paper_equation_numbers.py); Sphinx alone would number them in book order."""
    import re

    assert build.returncode == 0, "the book did not build"
    shown = referenced = 0
    for page in _pages():
        html = page.read_text()
        for n, eqno in re.findall(r'id="equation-paper-eq-(\d+)">\s*<span class="eqno">\((\d+)\)', html):
            assert n == eqno, f"{page.name}: paper eq. ({n}) is displayed as ({eqno})"
            shown += 1
        for n, eqno in re.findall(r'#equation-paper-eq-(\d+)">\((\d+)\)</a>', html):
            assert n == eqno, f"{page.name}: a reference to paper eq. ({n}) reads ({eqno})"
            referenced += 1
    assert shown and referenced, "no labelled paper equation found in the built book"
