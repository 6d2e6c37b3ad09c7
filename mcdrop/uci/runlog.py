"""What the UCI command lines write besides their numbers (chapters 10 and 11): rows appended to
a CSV, the splits already there (to resume), and the provenance of each run (command, code
revision, versions, machine, wall time) in a ``.provenance.jsonl`` file beside the CSV."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import pandas as pd


def parse_splits(text: str) -> list[int]:
    """``"0-4,7"`` → ``[0, 1, 2, 3, 4, 7]``."""
    splits = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        try:
            splits += list(range(int(low), int(high or low) + 1))
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"--splits must look like 0-4,7, got {text!r}") from err
    return splits


def append_rows(path: Path, rows) -> None:
    """Append ``rows`` (dicts) to the CSV, writing the header when the file is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    pd.DataFrame(rows).to_csv(path, mode="a", header=new, index=False)


def done_splits(path: Path, name: str, **where) -> set[int]:
    """Splits of data set ``name`` already in the CSV at ``path``, among the rows whose columns
    equal ``where`` (e.g. ``protocol="grid"``)."""
    if not path.is_file():
        return set()
    frame = pd.read_csv(path)
    rows = frame["dataset"] == name
    for column, value in where.items():
        rows &= frame[column] == value
    return set(frame.loc[rows, "split"].astype(int))


def code_revision() -> str:
    """``git describe --always --dirty`` of the checkout this module runs from, or "unknown"."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(argv, name: str, splits, seconds: float, revision: str, prog: str) -> dict:
    """What produced some rows: command (``prog`` and ``argv``), code revision, library versions,
    machine, wall time."""
    import joblib
    import numpy
    import torch

    return {"command": " ".join([prog, *argv]), "dataset": name, "splits": list(splits),
            "wall_seconds": round(seconds, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "revision": revision, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "joblib": joblib.__version__, "machine": platform.platform(),
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads()}


def log_provenance(path: Path, argv, name: str, splits, seconds: float, revision: str, prog: str) -> None:
    """Append the :func:`provenance` of a finished run to the ``.provenance.jsonl`` file beside the
    CSV at ``path``."""
    with path.with_suffix(".provenance.jsonl").open("a") as f:
        f.write(json.dumps(provenance(argv, name, splits, seconds, revision, prog)) + "\n")
