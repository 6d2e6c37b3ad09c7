"""Serve MathJax 3 from the built book itself, so that math renders without internet.

The MathJax files come from the pinned ``django-static-mathjax`` wheel. They are copied to
``_static/mathjax/`` after the build (not through a book-root ``_static/``, whose every
``.js`` file would be injected into every page).
"""

from pathlib import Path
import shutil

import mathjax

MATHJAX_ES5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
ENTRY_POINT = "tex-mml-chtml.js"


def _use_local_mathjax(app, config):
    config.mathjax_path = f"mathjax/{ENTRY_POINT}"


def _copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        shutil.copytree(MATHJAX_ES5, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    if not (MATHJAX_ES5 / ENTRY_POINT).is_file():
        raise FileNotFoundError(f"MathJax entry point missing: {MATHJAX_ES5 / ENTRY_POINT}")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
