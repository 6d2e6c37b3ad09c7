"""mcdrop.uci.protocols and the command line: protocol settings, blocks, resume, Dask."""

import math

import numpy as np

import pandas as pd
import pytest

from mcdrop.uci import __main__ as cli
from mcdrop.uci import data, protocols, reference


@pytest.fixture(autouse=True)
def shared(monkeypatch):
    monkeypatch.setenv("MCDROP_DATA", "/work/shared/data")


def test_paper_protocol_settings():
    s = protocols.settings("yacht", "paper")
    assert (s.n_epochs, s.batch_size, s.n_hidden, s.T) == (400, 32, 50, 10_000)
    assert (s.weight_decay_convention, s.bias_decay, s.tau_units) == ("official", False, "standardised")
    assert protocols.candidates(s) == [(0.01, 0.541869562034, 0.1)]
    protein = protocols.settings("protein", "paper")
    assert (protein.n_epochs, protein.n_hidden) == (200, 100)
    assert protocols.candidates(protocols.settings("naval"))[0][2] == 1.0


def test_grid_protocol_settings():
    s = protocols.settings("kin8nm", "grid")
    assert (s.n_epochs, s.batch_size, s.n_hidden) == (4000, 128, 50)
    assert protocols.settings("protein", "grid").n_epochs == 2000
    pairs = protocols.candidates(s)
    assert len(pairs) == 12 and {l for *_, l in pairs} == {1e-2}
    assert {(p, t) for p, t, _ in pairs} == {(p, t) for p in (0.005, 0.01, 0.05, 0.1) for t in (150.0, 200.0, 250.0)}


def test_official_weight_decay_is_the_keras_regulariser():
    """Keras adds reg·‖W‖² to an MSE without ½, reg = l²(1 − p)/(2Nτ): torch's wd is 2·reg."""
    s = protocols.settings("boston", "paper")
    weight, bias = protocols._decays(s, [(0.05, 0.16, 1e-2)], 455, 9.2)
    assert weight == [pytest.approx(2 * 1e-4 * 0.95 / (2 * 455 * 0.16))] and bias == [0.0]
    original = protocols.settings("boston", "paper", tau_units="original", bias_decay=True)
    weight, bias = protocols._decays(original, [(0.05, 0.16, 1e-2)], 455, 9.2)
    assert weight == [pytest.approx(2 * 1e-4 * 0.95 / (2 * 455 * 0.16 * 9.2**2))]
    assert bias == [pytest.approx(4 * 1e-4 / (2 * 455 * 0.16 * 9.2**2))]


def test_bad_arguments():
    with pytest.raises(ValueError, match="protocol must be one of"):
        protocols.run("yacht", "bayesopt")
    with pytest.raises(ValueError, match="splits must lie in 0..4"):
        protocols.run("protein", splits=[5])
    with pytest.raises(ValueError, match="weight_decay_convention"):
        protocols.run("yacht", weight_decay_convention="keras")
    with pytest.raises(ValueError, match="tau_units"):
        protocols.run("yacht", tau_units="nats")
    with pytest.raises(ValueError, match="device"):
        protocols.run("yacht", device="tpu")
    with pytest.raises(ValueError, match="n_epochs"):
        protocols.run("yacht", n_epochs=0)


QUICK = dict(n_epochs=3, T=20)


def test_a_split_does_not_depend_on_its_block_or_the_jobs():
    together = protocols.run("yacht", "grid", splits=[0, 1, 2], **QUICK)
    apart = protocols.run("yacht", "grid", splits=[2, 0, 1], splits_per_task=1, n_jobs=2, **QUICK)
    numbers = ["drop_prob", "tau", "rmse", "log_likelihood", "log_likelihood_std_tau", "val_log_likelihood"]
    pd.testing.assert_frame_equal(together[numbers], apart[numbers])
    assert list(together.columns[:7]) == ["dataset", "split", "drop_prob", "tau", "rmse", "log_likelihood", "seconds"]


def test_dask_backend_gives_the_sequential_numbers():
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    sequential = protocols.run("yacht", "paper", splits=[4, 5], **QUICK)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster), parallel_config(backend="dask"):
            remote = protocols.run("yacht", "paper", splits=[4, 5], splits_per_task=1, n_jobs=2, **QUICK)
    pd.testing.assert_frame_equal(sequential[["rmse", "log_likelihood"]], remote[["rmse", "log_likelihood"]])


def test_log_likelihood_units():
    """τ as the precision of the standardised target is τ/σ² in original units: the two columns
    differ by the eq. (8) terms that τ enters, with the same MC samples."""
    row = protocols.run("yacht", "paper", splits=[0], **QUICK).iloc[0]
    assert math.isfinite(row.log_likelihood) and math.isfinite(row.log_likelihood_std_tau)
    assert row.log_likelihood != row.log_likelihood_std_tau


def test_command_line_appends_and_resumes(tmp_path):
    out = tmp_path / "grid.csv"
    args = ["--data", "yacht", "--protocol", "grid", "--epochs", "3", "--T", "20", "--out", str(out)]
    cli.main(args + ["--splits", "0-1"])
    first = pd.read_csv(out)
    cli.main(args + ["--splits", "0-2"])  # only split 2 is new
    resumed = pd.read_csv(out)
    assert list(resumed.split) == [0, 1, 2]
    pd.testing.assert_frame_equal(resumed.iloc[:2], first)
    cli.main(args + ["--splits", "0-2"])  # nothing to do
    assert len(pd.read_csv(out)) == 3
    straight = tmp_path / "straight.csv"
    cli.main(["--data", "yacht", "--protocol", "grid", "--epochs", "3", "--T", "20", "--out", str(straight), "--splits", "0-2"])
    numbers = ["split", "drop_prob", "tau", "rmse", "log_likelihood"]
    pd.testing.assert_frame_equal(pd.read_csv(straight)[numbers], resumed[numbers])
    assert len((tmp_path / "grid.provenance.jsonl").read_text().splitlines()) == 2
    assert cli.parse_splits("0-2,5") == [0, 1, 2, 5]


def test_reference_tables_and_comparison():
    paper = reference.table("paper")
    assert paper.loc["boston", "log_likelihood"] == -2.460037
    assert paper.loc["protein", "log_likelihood_se"] == pytest.approx(0.009653 / math.sqrt(5))
    fake = pd.DataFrame({"dataset": ["yacht"] * 4, "rmse": [1.0] * 4, "log_likelihood": [-1.6, -1.5, -1.7, -1.6]})
    row = reference.compare(fake, "paper").loc["yacht"]
    assert row.log_likelihood == pytest.approx(-1.6)
    assert row.log_likelihood_se == pytest.approx(math.sqrt(0.005) / 2)
    assert row.agrees
    with pytest.raises(ValueError, match="source"):
        reference.table("mc")
    assert list(reference.table("vi").index) == ["boston"]
    table = reference.side_by_side({"ours": fake})
    assert table.loc["yacht", ("ours", "test LL")] == "-1.60 ± 0.04"
    assert table.loc["yacht", ("Dropout (paper)", "test LL")] == "-1.55 ± 0.03"
    assert table.loc["boston", ("ours", "RMSE")] == ""


def test_training_times_report_a_speed_up():
    from mcdrop.uci import timing

    out = timing.grid_training_times("yacht", n_epochs=1, n_splits=2)
    assert out["batched_M12_cpu_s"] > 0 and out["batched_M24_cpu_s"] > 0
    assert out["speedup_per_model_M24"] > 1  # batching 24 networks beats training them one by one
    assert timing.training_flops([(None, np.zeros((10, 3)))], 2, 5) == 2 * 6 * 10 * (3 * 5 + 5)
    with pytest.raises(ValueError, match="n_epochs"):
        timing.grid_training_times("yacht", n_epochs=0)


def test_step_profile_shares_cover_the_training_step():
    from mcdrop.uci import timing

    shares = timing.step_profile("yacht", n_epochs=1, n_splits=2)
    assert shares.share.sum() == pytest.approx(1.0)
    assert shares.share.is_monotonic_decreasing
    # the forward and backward products and the uniform numbers of the masks are among the operators
    assert {"aten::bmm", "aten::uniform_"} <= set(shares.index)
    with pytest.raises(ValueError, match="n_splits"):
        timing.step_profile("yacht", n_epochs=1, n_splits=0)


def test_repository_grid_choices_cover_every_split():
    for name, choices in reference.GRID_CHOICES.items():
        assert sum(choices.values()) == reference.N_SPLITS[name], name
        drops, taus = data.grid(name)
        assert all(p in drops and t in taus for p, t in choices), name


def test_grid_choices_table_counts_our_choices_beside_the_repository():
    fake = pd.DataFrame({"dataset": ["yacht"] * 3, "drop_prob": [0.005, 0.005, 0.05], "tau": [0.75, 0.75, 0.25]})
    table = reference.grid_choices(fake)
    assert table.loc[("yacht", 0.005, 0.75)].tolist() == [2, 14]
    assert table.loc[("yacht", 0.01, 0.75)].tolist() == [0, 6]
    assert table.loc[("yacht", 0.05, 0.25)].tolist() == [1, 0]
    assert set(table.index.get_level_values("dataset")) == {"yacht"}
