"""The paper's Fig. 2 findings, as measured ratios, on the real CO2 data (needs MCDROP_DATA)."""

import json
import os
import subprocess

import numpy as np
import pytest
import torch

from mcdrop import co2, datasets, gp

needs_data = pytest.mark.skipif(not os.environ.get("MCDROP_DATA"), reason="MCDROP_DATA is not set (CI sets it)")
FAST = co2.CO2Settings(hidden_layer_sizes=(128,) * 4, n_epochs=60)


@pytest.fixture(scope="module")
def data():
    X, y = datasets.load_co2("train")
    X_test, _ = datasets.load_co2("test")
    return X, y, X_test


def _model_std(fitted, X_test):
    samples = fitted.samples(X_test, T=200, seed=0)
    return samples.std(axis=0)


@needs_data
def test_relu_uncertainty_keeps_growing_and_tanh_levels_off(data):
    X, y, X_test = data
    relu = _model_std(co2.fit_network(X, y, "relu", FAST, seed=0), X_test)
    tanh = _model_std(co2.fit_network(X, y, "tanh", FAST, seed=0), X_test)
    x = X_test[:, 0]
    assert co2.std_growth(relu, x, near=2.7, far=3.7) > 1.2
    assert co2.std_growth(tanh, x, near=2.7, far=3.7) < 1.1
    assert relu[-1] > 2 * relu[0]  # grows away from the data


@needs_data
def test_gp_reverts_to_its_prior(data):
    X, y, X_test = data
    kernel, hyper = co2.fit_gp(X, y, seed=0)
    _, cov = gp.posterior(X, y, X_test, kernel, hyper["noise_variance"])
    std = np.sqrt(np.diag(cov))
    assert std[-1] == pytest.approx(np.sqrt(hyper["variance"]), rel=0.01)
    assert std[0] < 0.5 * std[-1]


def test_std_growth_rejects_empty_windows():
    with pytest.raises(ValueError, match="within width"):
        co2.std_growth(np.ones(3), np.array([0.0, 1.0, 2.0]), near=5.0, far=1.0)


@pytest.mark.parametrize("field, value", [
    ("T", -5), ("T", 0), ("drop_prob", 2.0), ("drop_prob", -0.1), ("drop_prob", 0.0), ("n_epochs", 0), ("batch_size", -1),
    ("lr", 0.0), ("lengthscale", float("nan")), ("tau", -1.0), ("hidden_layer_sizes", ()),
    ("hidden_layer_sizes", (64, 0)),
])
def test_settings_reject_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        co2.CO2Settings(**{field: value})


def test_settings_name_the_bad_field_of_the_issue_example():
    with pytest.raises(ValueError, match="drop_prob must lie in"):
        co2.CO2Settings(T=-5, drop_prob=2.0)
    with pytest.raises(ValueError, match="T must be >= 1, got -5"):
        co2.CO2Settings(T=-5)


@pytest.mark.parametrize("field, value", [("T", 2.5), ("hidden_layer_sizes", "256"), ("lr", "fast")])
def test_settings_reject_wrong_types(field, value):
    with pytest.raises(TypeError, match=field):
        co2.CO2Settings(**{field: value})


def test_settings_store_sizes_as_a_tuple():
    assert co2.CO2Settings(hidden_layer_sizes=[8, 8]).hidden_layer_sizes == (8, 8)


@pytest.mark.parametrize("bad", [[1.0, 0.0, 1.0], [1.0, -1.0, 1.0], [1.0, np.nan, 1.0], [1.0, np.inf, 1.0]])
def test_std_growth_rejects_non_positive_or_non_finite_std(bad):
    with pytest.raises(ValueError, match="std"):
        co2.std_growth(np.array(bad), np.array([0.0, 1.0, 2.0]), near=0.0, far=2.0)


def test_std_growth_is_the_ratio_of_window_means():
    x = np.linspace(0.0, 2.0, 21)
    std = 1.0 + x  # mean over |x| <= 0.15 is 1.05, over |x - 2| <= 0.15 is 2.95
    assert co2.std_growth(std, x, near=0.0, far=2.0, width=0.15) == pytest.approx(2.95 / 1.05)


@pytest.mark.parametrize("period", [0.153, 0.3, 0.6])  # 23 to 6 periods in the window
def test_dominant_period_recovers_a_sine_under_a_trend(period):
    x = np.linspace(-1.73, 1.73, 272)
    y = np.sin(2 * np.pi * x / period + 0.4) + 0.3 * x  # the linear trend is weaker than the sine
    assert co2.dominant_period(x, y) == pytest.approx(period, rel=0.02)


@pytest.mark.parametrize("x", [np.array([0.0, 1.0, 3.0, 4.0]), np.array([2.0, 1.0, 0.0, -1.0]), np.zeros(4)])
def test_dominant_period_needs_increasing_even_spacing(x):
    with pytest.raises(ValueError, match="evenly spaced"):
        co2.dominant_period(x, np.ones(4))


def test_hidden_activations_match_a_hand_written_forward_pass():
    X = np.linspace(-2.0, 3.0, 7)[:, None]
    y = np.sin(X[:, 0])
    fitted = co2.fit_network(X, y, "tanh", co2.CO2Settings(hidden_layer_sizes=(5, 3), n_epochs=2), seed=0)
    first, second, _ = [m for m in fitted.model.net if isinstance(m, torch.nn.Linear)]
    inputs = fitted.standardise_inputs(X).double()
    with torch.no_grad():
        h1 = torch.tanh(inputs @ first.weight.double().T + first.bias.double())
        h2 = torch.tanh(h1 @ second.weight.double().T + second.bias.double())
    got = co2.hidden_activations(fitted, X)
    assert [a.shape for a in got] == [(7, 5), (7, 3)]
    np.testing.assert_allclose(got[0], h1.numpy(), atol=1e-6)
    np.testing.assert_allclose(got[1], h2.numpy(), atol=1e-6)
    assert fitted.model.training is False  # modes restored


def _toy_run(**kwargs):
    X = np.linspace(-1.7, 1.7, 40)[:, None]
    settings = co2.CO2Settings(hidden_layer_sizes=(16, 16), batch_size=16, lr=3e-3)
    return co2.ResumableFit(X, np.sin(4 * X[:, 0]), settings, "relu", seed=3, **kwargs)


def test_resumed_run_continues_exactly_where_it_stopped():
    straight = _toy_run(lr_decay=1e-2)
    straight.train(6)
    first = _toy_run(lr_decay=1e-2)
    first.train(3)
    resumed = _toy_run(lr_decay=1e-2)
    resumed.load_state_dict(first.state_dict())
    resumed.train(3)
    assert resumed.history == straight.history and resumed.steps == straight.steps == 6 * 3
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_resume_refuses_a_state_from_other_settings():
    run = _toy_run()
    run.train(1)
    with pytest.raises(ValueError, match="lr_decay"):
        _toy_run(lr_decay=0.5).load_state_dict(run.state_dict())


def test_run_applies_the_inv_step_size_policy():
    run = _toy_run(lr_decay=0.1)
    run.train(2)  # 6 steps; the last used t = 5
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(3e-3 * (1 + 0.1 * 5) ** -0.25)


def test_run_leaves_the_global_rng_alone():
    before = torch.get_rng_state()
    _toy_run().train(1)
    assert torch.equal(before, torch.get_rng_state())


def test_load_long_run_refuses_missing_or_ragged_files(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        co2.load_long_run(tmp_path / "absent.json")
    columns = {"mc_mean": [0.0, 1.0], "mc_std": [1.0, 1.0], "deterministic": [0.0, 1.0]}
    ragged = {"grid_x": [0.0, 1.0, 2.0], "train": columns, "grid": columns}
    (tmp_path / "ragged.json").write_text(json.dumps(ragged))
    with pytest.raises(ValueError, match="disagree in length"):
        co2.load_long_run(tmp_path / "ragged.json")


STORED_RUNS = sorted(co2.RESULTS.glob("*.json"))


@pytest.mark.parametrize("path", STORED_RUNS, ids=lambda p: p.name)
def test_stored_run_names_its_provenance_and_a_clean_known_revision(path):
    run = co2.load_long_run(path)
    provenance = run["provenance"]
    for key in ("command", "python", "torch", "numpy", "platform", "cpu_count", "torch_threads", "wall_s_training"):
        assert provenance[key] not in (None, ""), key
    assert not provenance["uncommitted_changes_in_code"]
    assert path.stat().st_size < 1_000_000
    revision = subprocess.run(["git", "cat-file", "-e", provenance["git_revision"] + "^{commit}"],
                              cwd=co2.RESULTS, capture_output=True)
    if revision.returncode != 0 and not os.environ.get("CI"):
        pytest.skip("the run's revision is not in this clone's history (shallow clone?)")
    assert revision.returncode == 0, f"revision {provenance['git_revision']} is not in the repository"


@needs_data
@pytest.mark.parametrize("path", STORED_RUNS, ids=lambda p: p.name)
def test_stored_run_matches_the_data_and_the_current_code(path, data):
    X, y, X_test = data
    run = co2.load_long_run(path)
    np.testing.assert_allclose(run["grid_x"], X_test[:, 0])
    assert len(run["train"]["mc_mean"]) == len(y)
    assert np.all(run["grid"]["mc_std"] > 0)
    rmse = np.sqrt(np.mean((run["train"]["mc_mean"] - y) ** 2))
    assert rmse == pytest.approx(run["train_rmse_mc_mean"], abs=1e-5)
    # the first epochs of the same code from the same seed give the stored losses
    options = run["settings"]
    fit = co2.ResumableFit(X, y, co2.long_run_settings(options), run["activation"], seed=options["seed"],
                           lr_decay=options["lr_decay"])
    fit.train(len(run["fingerprint_losses"]))
    np.testing.assert_allclose(fit.history, run["fingerprint_losses"], rtol=1e-5)


def test_halves_rmse_splits_at_the_midpoint_of_the_range():
    x = np.array([-3.0, -1.0, 0.5, 1.0, 3.0])  # midpoint 0: two points left, three right
    y = np.zeros(5)
    prediction = np.array([3.0, 4.0, 1.0, 1.0, -1.0])
    assert co2.halves_rmse(x, prediction, y) == pytest.approx((np.sqrt(12.5), 1.0))


@pytest.mark.parametrize("args, name", [
    ((np.zeros(3), np.zeros(3), np.zeros(3)), "x"), ((np.arange(3.0), np.zeros(2), np.zeros(3)), "prediction"),
    ((np.arange(3.0), np.zeros(3), np.full(3, np.nan)), "y"),
])
def test_halves_rmse_rejects_bad_input_naming_it(args, name):
    with pytest.raises(ValueError, match=name):
        co2.halves_rmse(*args)


def test_variance_shares_of_a_quadratic_plus_a_cycle_are_their_variances():
    x = np.linspace(-1.7, 1.7, 4001)
    period = 0.15
    trend, cycle = 0.5 * x**2, np.sin(2 * np.pi * x / period) + 0.3 * np.cos(4 * np.pi * x / period)
    y = trend + cycle + np.random.default_rng(0).normal(0, 0.5, len(x))
    total = y.var()
    trend_share, cycle_share = co2.variance_shares(x, y, period)
    assert trend_share == pytest.approx(trend.var() / total, abs=0.01)
    assert cycle_share == pytest.approx(cycle.var() / total, abs=0.01)  # the harmonic is nearly orthogonal to x²
    assert co2.variance_shares(x, y, period, harmonics=1)[1] == pytest.approx(0.5 / total, abs=0.01)


def test_variance_shares_rejects_a_constant_or_bad_period():
    with pytest.raises(ValueError, match="y must vary"):
        co2.variance_shares(np.arange(20.0), np.ones(20), 5.0)
    with pytest.raises(ValueError, match="period"):
        co2.variance_shares(np.arange(20.0), np.arange(20.0), 0.0)


def test_last_rise_slope_runs_from_the_last_minimum_to_the_next_maximum():
    x = np.arange(9.0)
    rises_to_the_end = np.array([0.0, 2.0, 1.0, -1.0, 3.0, 0.0, -2.0, 1.0, 4.0])
    assert co2.last_rise_slope(x, rises_to_the_end) == pytest.approx(6.0 / 2.0)
    falls_at_the_end = np.array([0.0, -1.0, 1.0, 5.0, 3.0, -2.0, -1.0, 0.5, 0.0])
    assert co2.last_rise_slope(x, falls_at_the_end) == pytest.approx(2.5 / 2.0)
    with pytest.raises(ValueError, match="no local minimum"):
        co2.last_rise_slope(x, x)


def test_flat_stretch_std_averages_where_the_mean_is_flattest():
    x = np.linspace(0.0, 2.0, 201)
    mean = np.where(x < 1.0, 0.0, (x - 1.0) ** 2)  # flat on the left half, rising on the right
    std = np.where(x < 1.0, 0.1, 0.5)
    assert co2.flat_stretch_std(x, mean, std) == pytest.approx(0.1)
    assert co2.flat_stretch_std(x, mean, std, quantile=0.9) > 0.1
    with pytest.raises(ValueError, match="quantile"):
        co2.flat_stretch_std(x, mean, std, quantile=1.5)


def test_distance_to_level_finds_the_first_point_past_start():
    x = np.linspace(0.0, 10.0, 101)
    values = 1 - np.exp(-x)
    # 1 - e^-x reaches 0.99 at x = ln 100 = 4.61: the first grid point is 4.7, 2.7 past start
    assert co2.distance_to_level(x, values, 0.99, start=2.0) == pytest.approx(2.7, abs=1e-9)
    assert co2.distance_to_level(x, values, 2.0, start=2.0) == float("inf")
    with pytest.raises(ValueError, match="increasing"):
        co2.distance_to_level(x[::-1], values, 0.5, start=0.0)


@pytest.mark.parametrize("T, ddof", [(2, 0), (10, 0), (10, 1), (200, 0)])
def test_sample_std_bias_matches_simulation(T, ddof):
    draws = np.random.default_rng(1).normal(size=(200_000, T))
    simulated = draws.std(axis=1, ddof=ddof).mean()  # MC standard error < 0.002
    assert co2.sample_std_bias(T, ddof) == pytest.approx(simulated, abs=0.005)


def test_sample_std_bias_closed_forms():
    assert co2.sample_std_bias(2, ddof=1) == pytest.approx(np.sqrt(2 / np.pi))  # c₄(2)
    assert co2.sample_std_bias(10) == pytest.approx(co2.sample_std_bias(10, ddof=1) * np.sqrt(9 / 10))
    with pytest.raises(ValueError, match="T must be >= 2"):
        co2.sample_std_bias(1)
    with pytest.raises(ValueError, match="ddof"):
        co2.sample_std_bias(10, ddof=2)
