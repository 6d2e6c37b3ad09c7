"""Data sets of the paper's regression experiments (chapters 7 and 8) and the book's 1-D toy (chapters 1 and 6).

The paper's own CO2 set (Fig. 2–3) is read from ``$MCDROP_DATA/paper/co2_regression/`` when
``MCDROP_DATA`` is set, otherwise downloaded once from the paper's repository into
``$MCDROP_CACHE`` (default ``~/.cache/mcdrop``); its SHA-256 is checked either way. California
housing comes from scikit-learn's ``fetch_california_housing``, which reads ``SCIKIT_LEARN_DATA``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zlib
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

PAPER_URL = "https://raw.githubusercontent.com/yaringal/DropoutUncertaintyCaffeModels/master/{folder}/data/{split}.h5"
SHA256 = {
    ("co2_regression", "train"): "5e872111e517ac619350009fe3b9b5e2752ad52b4cf0086ec53b33db4c32417b",
    ("co2_regression", "test"): "87da916948348f9f850a52327a457dc091f3104cafa42f75e176f66dc9b966fb",
}


class DataError(RuntimeError):
    """A data file is missing, unreachable or corrupt; the message says what to do."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_dir() -> Path:
    return Path(os.environ.get("MCDROP_CACHE", Path.home() / ".cache" / "mcdrop"))


def verified_file(relative: str, url: str, expected: str) -> Path:
    """Path of a copy of ``relative`` whose SHA-256 is ``expected``: read from ``$MCDROP_DATA/relative``
    when ``MCDROP_DATA`` is set, otherwise from ``$MCDROP_CACHE/relative``, downloaded from ``url``
    first if missing. A missing or corrupt file raises a :class:`DataError` that says what to do."""
    local_root = os.environ.get("MCDROP_DATA")
    if local_root:
        path = Path(local_root) / relative
        if not path.is_file():
            raise DataError(
                f"MCDROP_DATA is set to {local_root!r} but {path} does not exist. Point MCDROP_DATA at a "
                f"folder laid out as {relative} (the book's shared data folder), or unset it to download the file."
            )
    else:
        path = _cache_dir() / relative
        if not path.is_file():
            _download(url, path, expected, relative)
    actual = _sha256(path)
    if actual != expected:
        raise DataError(
            f"{path} is corrupt: its SHA-256 is {actual}, expected {expected}. Delete it and run again "
            "to download a fresh copy (or replace the copy under MCDROP_DATA)."
        )
    return path


def paper_file(folder: str, split: str) -> Path:
    """Path of a verified copy of ``<folder>/<split>.h5`` from the paper's repository."""
    if (folder, split) not in SHA256:
        raise ValueError(f"folder and split must name a known paper data file, got folder={folder!r}, "
                         f"split={split!r}; known: {sorted(SHA256)}")
    return verified_file(f"paper/{folder}/{split}.h5", PAPER_URL.format(folder=folder, split=split),
                         SHA256[(folder, split)])


def _download(url: str, path: Path, expected: str, relative: str) -> None:
    """Fetch ``url`` into ``path`` if its SHA-256 is ``expected``; ``relative`` is the file's
    path under ``MCDROP_DATA``, named in the error when there is no internet."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as err:
        raise DataError(
            f"could not download {url} ({err}). Without internet, set MCDROP_DATA to a folder holding "
            f"{relative} (the layout of the book's shared data folder)."
        ) from err
    if hashlib.sha256(payload).hexdigest() != expected:
        raise DataError(f"the download from {url} does not have SHA-256 {expected}; nothing was cached. Try again later.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(payload)
    partial.replace(path)


def load_co2(split: str = "train"):
    """The paper's Mauna Loa CO2 set (Fig. 2): ``X`` (n, 1) standardised time, ``y`` (n,)
    standardised CO2. ``train`` has 272 points; ``test`` is the extrapolation grid, whose
    labels are a constant placeholder (no ground truth)."""
    import h5py

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    with h5py.File(paper_file("co2_regression", split), "r") as f:
        return np.asarray(f["data"], dtype=float), np.asarray(f["label"], dtype=float)[:, 0]


def load_california_housing():
    """California housing (20,640 × 8) through scikit-learn; target in units of $100,000."""
    from sklearn.datasets import fetch_california_housing, get_data_home

    try:
        data = fetch_california_housing()
    except (urllib.error.URLError, OSError) as err:
        raise DataError(
            f"California housing is not in scikit-learn's cache and could not be downloaded ({err}). "
            "Set SCIKIT_LEARN_DATA to a folder holding cal_housing_py3.pkz, or connect to the internet once."
        ) from err
    except (zlib.error, EOFError, pickle.UnpicklingError, ValueError, KeyError, IndexError, TypeError) as err:
        path = Path(get_data_home()) / "cal_housing_py3.pkz"
        raise DataError(
            f"{path} is corrupt: scikit-learn cannot read it ({type(err).__name__}: {err}). Delete it and run "
            "again to download a fresh copy (or replace the copy under SCIKIT_LEARN_DATA)."
        ) from err
    return data.data, data.target, list(data.feature_names)


def two_clusters(n: int, rng, shuffle: bool = False) -> np.ndarray:
    """Inputs of the book's 1-D toy (chapters 1 and 6), shape (n, 1): ``n // 2`` uniform on
    [−4, −1], the rest uniform on [1.5, 4], with a gap between, drawn from the numpy Generator ``rng``; ``shuffle`` permutes the rows."""
    from mcdrop import _checks

    n = _checks.positive_int("n", n)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    x = np.concatenate([rng.uniform(-4, -1, n // 2), rng.uniform(1.5, 4, n - n // 2)])
    return (rng.permutation(x) if shuffle else x)[:, None]
