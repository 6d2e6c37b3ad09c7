"""mcdrop.benchmark: the report's looped sampler really mutates BatchNorm; the timing helper
compares samplers that agree in distribution."""

import pytest
import torch
from torch import nn

from mcdrop.benchmark import train_mode_predict_mc, time_mc_prediction
from mcdrop.predict import mc_samples


def _bn_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 1))
    net.train()
    net(torch.randn(64, 2))
    return net.eval()


def test_looped_sampler_changes_batchnorm_statistics_and_mc_samples_does_not():
    net, x = _bn_net(), torch.randn(5, 2) + 3.0
    before = net[1].running_mean.clone()
    mc_samples(net, x, T=10, seed=0)
    assert torch.equal(net[1].running_mean, before)
    train_mode_predict_mc(net, x, T=10)
    assert not torch.allclose(net[1].running_mean, before)
    assert net.training  # and it leaves the model in training mode


def test_timing_helper_reports_consistent_samplers():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1)).eval()
    result = time_mc_prediction(net, torch.randn(16, 3), T=400, repeats=1)
    assert all(result[k] > 0 for k in ("loop_s", "mc_samples_s", "dropout_free_s"))
    assert result["max_mean_gap_in_se"] < 5.0  # same predictive mean within Monte Carlo error
    assert not net.training


def test_best_time_warms_up_once_and_keeps_the_fastest_call():
    from mcdrop import _timing

    durations = iter([5.0, 0.3, 0.1, 0.2])  # warm-up (untimed), then three timed calls
    clock = iter([0.0, 0.3, 1.0, 1.1, 2.0, 2.2])
    calls = []

    def fn():
        calls.append(next(durations))

    assert _timing.best_time(fn, repeats=3, clock=lambda: next(clock)) == pytest.approx(0.1)
    assert len(calls) == 4
