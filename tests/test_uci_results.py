"""The committed UCI results come from this code: recompute a few splits and compare."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcdrop.uci import protocols, reference

RESULTS = Path(__file__).resolve().parents[1] / "results" / "uci"


@pytest.fixture(autouse=True)
def shared(monkeypatch):
    monkeypatch.setenv("MCDROP_DATA", "/work/shared/data")


def test_paper_protocol_reproduces_the_committed_yacht_splits():
    committed = pd.read_csv(RESULTS / "paper.csv").query("dataset == 'yacht'").set_index("split")
    live = protocols.run("yacht", "paper", splits=[0, 1], seed=0).set_index("split")
    for column in ("rmse", "log_likelihood", "log_likelihood_std_tau"):
        np.testing.assert_allclose(live[column], committed.loc[[0, 1], column], rtol=1e-4)
    assert (committed.n_epochs == 400).all() and (committed["T"] == 10_000).all()


def test_committed_files_have_the_protocol_columns_and_settings():
    for name, protocol, epochs in (("paper", "paper", {"protein": 200}), ("grid", "grid", {"protein": 2000})):
        frame = pd.read_csv(RESULTS / f"{name}.csv")
        assert list(frame.columns[:2]) == ["dataset", "split"]
        assert {"drop_prob", "tau", "rmse", "log_likelihood", "seconds"} <= set(frame.columns)
        assert (frame.protocol == protocol).all() and (frame.weight_decay_convention == "official").all()
        default = 400 if protocol == "paper" else 4000
        assert all(row.n_epochs == epochs.get(row.dataset, default) for row in frame.itertuples())
        assert not frame.duplicated(["dataset", "split"]).any()
        assert set(frame.dataset) <= set(reference.N_SPLITS)
