"""mcdrop.uci.data: the official files, read verified, with errors that say what to do."""

import shutil

import numpy as np
import pytest

from mcdrop import uci
from mcdrop.datasets import DataError
from mcdrop.uci import data

SHARED = "/work/shared/data"


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv("MCDROP_DATA", SHARED)


@pytest.mark.parametrize("name", uci.DATASETS)
def test_split_zero_against_the_raw_files(shared, name):
    folder = f"{SHARED}/uci/{data.FOLDERS[name]}"
    raw = np.loadtxt(f"{folder}/data.txt")
    train = np.loadtxt(f"{folder}/index_train_0.txt", dtype=int)
    test = np.loadtxt(f"{folder}/index_test_0.txt", dtype=int)
    target = int(np.loadtxt(f"{folder}/index_target.txt"))
    X_train, y_train, X_test, y_test = uci.load(name, 0)
    assert X_train.dtype == np.float64 and y_test.dtype == np.float64
    np.testing.assert_array_equal(y_train, raw[train, target])
    np.testing.assert_array_equal(y_test, raw[test, target])
    np.testing.assert_array_equal(X_train[:, 0], raw[train, 0])
    # train and test partition the rows; the features leave out the target column
    assert len(y_train) + len(y_test) == len(raw) and not set(train) & set(test)
    assert X_train.shape[1] == X_test.shape[1] == len(np.loadtxt(f"{folder}/index_features.txt"))


def test_sizes_and_split_counts_of_the_readme(shared):
    sizes = {"boston": (455, 51, 13), "naval": (10741, 1193, 16), "protein": (41157, 4573, 9), "yacht": (277, 31, 6)}
    for name, (n_train, n_test, n_features) in sizes.items():
        X_train, y_train, X_test, _ = uci.load(name, uci.n_splits(name) - 1)
        assert (len(y_train), len(X_test), X_train.shape[1]) == (n_train, n_test, n_features)
    assert [uci.n_splits(n) for n in uci.DATASETS] == [20, 20, 20, 20, 20, 20, 5, 20, 20]
    assert uci.grid("kin8nm") == ((0.005, 0.01, 0.05, 0.1), (150.0, 200.0, 250.0))


def test_bad_arguments(shared):
    with pytest.raises(ValueError, match="name must be one of"):
        uci.load("year", 0)
    with pytest.raises(TypeError, match="name"):
        uci.load(3, 0)
    with pytest.raises(ValueError, match="split must lie in 0..4"):
        uci.load("protein", 5)
    with pytest.raises(TypeError, match="split must be an integer"):
        uci.load("yacht", 1.0)


def _fake_repository(tmp_path, corrupt=None):
    """The official repository's layout for yacht, served as file:// URLs."""
    root = tmp_path / "repo"
    target = root / "UCI_Datasets" / "yacht" / "data"
    shutil.copytree(f"{SHARED}/uci/yacht", target)
    if corrupt:
        (target / corrupt).write_text("0\n")
    return f"file://{root}/UCI_Datasets/{{folder}}/data/{{file}}"


def test_download_is_verified_and_cached(tmp_path, monkeypatch):
    monkeypatch.delenv("MCDROP_DATA", raising=False)
    monkeypatch.setenv("MCDROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "OFFICIAL_URL", _fake_repository(tmp_path))
    X_train, y_train, _, _ = uci.load("yacht", 3)
    monkeypatch.setenv("MCDROP_DATA", SHARED)
    expected = uci.load("yacht", 3)
    np.testing.assert_array_equal(X_train, expected[0])
    np.testing.assert_array_equal(y_train, expected[1])
    assert (tmp_path / "cache" / "uci" / "yacht" / "index_train_3.txt").is_file()


def test_corrupt_download_is_refused_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.delenv("MCDROP_DATA", raising=False)
    monkeypatch.setenv("MCDROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "OFFICIAL_URL", _fake_repository(tmp_path, corrupt="index_test_2.txt"))
    with pytest.raises(DataError, match="does not have SHA-256"):
        uci.load("yacht", 2)
    assert not (tmp_path / "cache" / "uci" / "yacht" / "index_test_2.txt").exists()


def test_no_internet_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("MCDROP_DATA", raising=False)
    monkeypatch.setenv("MCDROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "OFFICIAL_URL", f"file://{tmp_path}/nowhere/{{folder}}/{{file}}")
    with pytest.raises(DataError, match="could not download.*set MCDROP_DATA.*uci/concrete/data.txt"):
        uci.load("concrete", 0)


def test_missing_and_corrupt_local_copies(tmp_path, monkeypatch):
    monkeypatch.setenv("MCDROP_DATA", str(tmp_path))
    with pytest.raises(DataError, match="does not exist.*uci/energy/data.txt"):
        uci.load("energy", 0)
    shutil.copytree(f"{SHARED}/uci/energy", tmp_path / "uci" / "energy")
    (tmp_path / "uci" / "energy" / "index_train_1.txt").write_text("1\n2\n")
    uci.load("energy", 0)
    with pytest.raises(DataError, match="corrupt.*SHA-256.*Delete it"):
        uci.load("energy", 1)
