"""mcdrop.uci.methods: the committed user table comes from this code, its MC dropout row is chapter
10's paper protocol, the GP branch is the exact GP, the summary is mean ± SE, bad input is named."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from mcdrop.uci import methods, protocols

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "results" / "critiques" / "uci_user_table.csv"


@pytest.fixture(autouse=True)
def shared(monkeypatch):
    monkeypatch.setenv("MCDROP_DATA", "/work/shared/data")
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command line ran (provenance: torch_threads 1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def live_yacht_0():
    return pd.DataFrame(methods.score_split("yacht", 0, methods=("MC dropout", "deep ensemble"))).set_index("method")


def test_the_committed_table_is_recomputed_on_one_split(live_yacht_0):
    committed = pd.read_csv(TABLE).query("dataset == 'yacht' and split == 0").set_index("method")
    for column in ("log_likelihood", "coverage_95", "rmse"):
        np.testing.assert_allclose(live_yacht_0[column], committed.loc[live_yacht_0.index, column], rtol=1e-4)


def test_mc_dropout_row_is_chapter_10s_paper_protocol(live_yacht_0):
    chapter_10 = pd.read_csv(ROOT / "results" / "uci" / "paper.csv").query("dataset == 'yacht' and split == 0")
    for column in ("log_likelihood", "rmse"):
        np.testing.assert_allclose(live_yacht_0.loc["MC dropout", column], chapter_10[column].item(), rtol=1e-4)


def test_committed_table_has_every_method_per_split_and_its_provenance():
    frame = pd.read_csv(TABLE)
    assert set(frame.method) == set(methods.METHODS)
    assert (frame.groupby(["dataset", "split"]).method.nunique() == len(methods.METHODS)).all()
    assert not frame.duplicated(["dataset", "split", "method"]).any()
    assert frame.coverage_95.between(0, 1).all() and (frame.fit_seconds > 0).all()
    records = [json.loads(line) for line in TABLE.with_suffix(".provenance.jsonl").read_text().splitlines()]
    assert {r["dataset"] for r in records} == set(frame.dataset)
    assert all(r["command"].startswith("python -m mcdrop.uci.methods") and r["revision"] for r in records)


def test_exact_gp_branch_matches_scikit_learn_at_its_hyperparameters():
    rng = np.random.default_rng(0)
    X, X_test = rng.normal(size=(40, 2)), rng.normal(size=(15, 2))
    f = lambda A: 3 * np.sin(A[:, 0]) + A[:, 1]  # noqa: E731
    y, y_test = 10 + f(X) + 0.3 * rng.normal(size=40), 10 + f(X_test) + 0.3 * rng.normal(size=15)
    s = protocols.settings("yacht")
    _, _, mean, var, ll, h = methods._exact_gp(s, 0, 0, X, y, X_test, y_test)
    Xs, x_mean, x_scale = (X - X.mean(0)) / X.std(0), X.mean(0), X.std(0)
    kernel = ConstantKernel(h["variance"]) * RBF(h["lengthscale"]) + WhiteKernel(h["noise_variance"])
    reference = GaussianProcessRegressor(kernel, optimizer=None).fit(Xs, (y - y.mean()) / y.std())
    ref_mean, ref_std = reference.predict((X_test - x_mean) / x_scale, return_std=True)
    np.testing.assert_allclose(mean, ref_mean * y.std() + y.mean(), rtol=1e-6)
    np.testing.assert_allclose(var, (ref_std * y.std()) ** 2, rtol=1e-6)
    np.testing.assert_allclose(ll, stats.norm.logpdf(y_test, mean, np.sqrt(var)), rtol=1e-8)


def test_summary_is_the_mean_and_ddof0_standard_error_per_method():
    frame = pd.DataFrame({"dataset": ["a"] * 4, "split": [0, 1, 0, 1], "method": ["x", "x", "y", "y"],
                          "log_likelihood": [1.0, 3.0, -1.0, -1.0], "coverage_95": [0.9, 1.0, 0.5, 0.7],
                          "rmse": [1.0, 2.0, 3.0, 4.0], "fit_seconds": [1.0, 1.0, 2.0, 4.0]})
    out = methods.summary(frame)
    assert out.loc[("a", "x"), "log_likelihood"] == 2.0 and out.loc[("a", "x"), "log_likelihood_se"] == 1 / np.sqrt(2)
    np.testing.assert_allclose(out.loc[("a", "y"), "coverage_95_se"], np.std([0.5, 0.7]) / np.sqrt(2))
    assert out.loc[("a", "y"), "n_splits"] == 2


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="methods"):
        methods.score_split("yacht", 0, methods=("random forest",))
    with pytest.raises(ValueError, match="split"):
        methods.score_split("yacht", 20)
    with pytest.raises(ValueError, match="name"):
        methods.score_split("iris", 0)
    with pytest.raises(ValueError, match="n_members"):
        methods.score_split("yacht", 0, n_members=0)
