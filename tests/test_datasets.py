"""mcdrop.datasets: local copies, verified downloads, and errors that say what to do."""

import hashlib
import io
import urllib.error

import h5py
import numpy as np
import pytest

from mcdrop import datasets


def _h5_bytes(n=5):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["data"] = np.linspace(-1, 1, n)[:, None]
        f["label"] = np.arange(n, dtype=np.float32)[:, None]
    return buffer.getvalue()


@pytest.fixture
def fake_co2(monkeypatch):
    payload = _h5_bytes()
    monkeypatch.setitem(datasets.SHA256, ("co2_regression", "train"), hashlib.sha256(payload).hexdigest())
    return payload


def _write(root, payload):
    path = root / "paper" / "co2_regression" / "train.h5"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    return path


def test_reads_a_verified_local_copy(tmp_path, monkeypatch, fake_co2):
    _write(tmp_path, fake_co2)
    monkeypatch.setenv("MCDROP_DATA", str(tmp_path))
    X, y = datasets.load_co2("train")
    assert X.shape == (5, 1) and y.tolist() == [0, 1, 2, 3, 4]


def test_corrupt_local_copy_is_refused(tmp_path, monkeypatch, fake_co2):
    _write(tmp_path, fake_co2[:-10] + b"0123456789")
    monkeypatch.setenv("MCDROP_DATA", str(tmp_path))
    with pytest.raises(datasets.DataError, match="corrupt.*SHA-256"):
        datasets.load_co2("train")


def test_missing_local_copy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MCDROP_DATA", str(tmp_path))
    with pytest.raises(datasets.DataError, match="MCDROP_DATA.*does not exist.*unset it to download"):
        datasets.load_co2("train")


def test_download_is_verified_and_cached(tmp_path, monkeypatch, fake_co2):
    monkeypatch.delenv("MCDROP_DATA", raising=False)
    monkeypatch.setenv("MCDROP_CACHE", str(tmp_path))
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(fake_co2)

    monkeypatch.setattr(datasets.urllib.request, "urlopen", fake_urlopen)
    datasets.load_co2("train")
    datasets.load_co2("train")
    assert calls == [datasets.PAPER_URL.format(folder="co2_regression", split="train")]
    assert (tmp_path / "paper" / "co2_regression" / "train.h5").read_bytes() == fake_co2


def test_bad_download_is_not_cached(tmp_path, monkeypatch, fake_co2):
    monkeypatch.delenv("MCDROP_DATA", raising=False)
    monkeypatch.setenv("MCDROP_CACHE", str(tmp_path))
    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not the file"))
    with pytest.raises(datasets.DataError, match="does not have SHA-256"):
        datasets.load_co2("train")
    assert not any(tmp_path.rglob("*.h5"))


def test_offline_without_local_copy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("MCDROP_DATA", raising=False)
    monkeypatch.setenv("MCDROP_CACHE", str(tmp_path))

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    with pytest.raises(datasets.DataError, match="set MCDROP_DATA"):
        datasets.load_co2("train")


def test_unknown_split_is_named():
    with pytest.raises(ValueError, match="split"):
        datasets.load_co2("validation")


def test_california_housing_offline_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("sklearn.datasets._california_housing._fetch_remote", offline)
    with pytest.raises(datasets.DataError, match="SCIKIT_LEARN_DATA"):
        datasets.load_california_housing()


@pytest.mark.skipif(not datasets.os.environ.get("MCDROP_DATA"), reason="MCDROP_DATA is not set (CI sets it)")
def test_real_co2_files_match_the_paper():
    X, y = datasets.load_co2("train")
    X_test, _ = datasets.load_co2("test")
    assert X.shape == (272, 1) and X_test.shape == (1000, 1)
    assert X.min() == pytest.approx(-1.7257, abs=1e-4) and X_test.max() == pytest.approx(3.7237, abs=1e-4)


def test_corrupted_california_cache_is_a_clear_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    (tmp_path / "cal_housing_py3.pkz").write_bytes(b"\x78\x9c not a zlib stream")
    with pytest.raises(datasets.DataError, match=r"cal_housing_py3\.pkz is corrupt.*Delete it"):
        datasets.load_california_housing()


def test_two_clusters_draws_the_toy_inputs_with_a_gap():
    x = datasets.two_clusters(101, np.random.default_rng(0))
    assert x.shape == (101, 1)
    left, right = x[x[:, 0] < 0, 0], x[x[:, 0] > 0, 0]
    assert len(left) == 50 and len(right) == 51
    assert left.min() >= -4 and left.max() <= -1 and right.min() >= 1.5 and right.max() <= 4
    shuffled = datasets.two_clusters(101, np.random.default_rng(0), shuffle=True)
    np.testing.assert_array_equal(np.sort(shuffled[:, 0]), np.sort(x[:, 0]))
    assert not np.array_equal(shuffled, x)
    with pytest.raises(ValueError, match="n"):
        datasets.two_clusters(0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        datasets.two_clusters(10, 0)
