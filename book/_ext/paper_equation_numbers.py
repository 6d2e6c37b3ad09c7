"""Show the paper's equations under the paper's numbers: a display labelled ``paper-eq-N`` reads (N).

Sphinx numbers labelled equations in order of appearance across the book, so without this the
paper's eq. (4) would be displayed, and referenced by ``{eq}``, as "(3)". Other labels keep
Sphinx's numbering.
"""

import re

_PAPER_ID = re.compile(r"equation-paper-eq-(\d+)")
_PAPER_LABEL = re.compile(r"paper-eq-(\d+)")


def _paper_numbers(app, env):
    """Runs after Sphinx's toctree collector has numbered the equations, before pages are written."""
    for numbers in env.toc_fignumbers.values():
        displaymath = numbers.get("displaymath", {})
        for node_id in displaymath:
            match = _PAPER_ID.fullmatch(node_id)
            if match:
                displaymath[node_id] = (int(match.group(1)),)
    equations = env.get_domain("math").equations
    for label, (docname, _) in list(equations.items()):
        match = _PAPER_LABEL.fullmatch(label)
        if match:
            equations[label] = (docname, int(match.group(1)))
    return []


def setup(app):
    # The collector numbers equations on "env-get-updated" (priority 500); run after it.
    app.connect("env-get-updated", _paper_numbers, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
