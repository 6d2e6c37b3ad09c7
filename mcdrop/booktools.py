"""Small helpers the chapters share for quoting computed numbers in their prose."""

from __future__ import annotations

import numbers


def glue_numbers(**values) -> None:
    """``myst_nb.glue`` each value as a plain Python number, for MyST's ``glue:text`` role with a
    format such as ``name:.2f``.

    NumPy 2 scalars render as ``np.float64(...)``, which MyST-NB cannot format; converting
    them first keeps every quoted number formattable.
    """
    from myst_nb import glue

    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        plain = int(value) if isinstance(value, numbers.Integral) else float(value)
        glue(name, plain, display=False)
