"""Timing MC dropout prediction (chapter 8, "California housing").

``train_mode_predict_mc`` reproduces the seed report's ``predict_mc`` loop — ``model.train()``
and a Python loop of T forward passes — for comparison only. It is deliberately wrong: it
leaves the model in train mode, and on a network with BatchNorm it changes predictions and
running statistics (chapter 6 shows both).
"""

from __future__ import annotations

import torch
from torch import nn

from mcdrop import _checks
from mcdrop._timing import best_time
from mcdrop._torch_state import preserved_modes
from mcdrop.predict import mc_samples


def train_mode_predict_mc(model: nn.Module, x: torch.Tensor, T: int) -> torch.Tensor:
    """The seed report's ``predict_mc`` loop, kept as the counter-example: ``model.train()`` then T
    separate passes; shape ``(T, *model(x).shape)``. It LEAVES THE MODEL IN TRAIN MODE and lets
    BatchNorm update its running statistics; use :func:`mcdrop.predict.mc_samples` instead."""
    _checks.module("model", model)
    T = _checks.positive_int("T", T)
    _checks.model_input("x", x, model)
    model.train()
    with torch.no_grad():
        return torch.stack([model(x) for _ in range(T)])


def time_mc_prediction(model: nn.Module, x: torch.Tensor, T: int = 100, repeats: int = 5, seed=0) -> dict:
    """Best-of-``repeats`` seconds of the looped passes, of :func:`~mcdrop.predict.mc_samples`, and of one
    dropout-free pass over the same ``T·N`` rows; plus the largest gap between the two
    samplers' per-output means, in units of its Monte Carlo standard error."""
    _checks.module("model", model)
    _checks.model_input("x", x, model)
    T = _checks.positive_int("T", T)
    repeats = _checks.positive_int("repeats", repeats)
    seed = _checks.int_seed("seed", seed)
    with preserved_modes(model), torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):
        torch.manual_seed(seed)
        loop = best_time(lambda: train_mode_predict_mc(model, x, T), repeats)
        vectorised = best_time(lambda: mc_samples(model, x, T, seed=seed), repeats)
        model.eval()
        repeated = x.repeat(T, *([1] * (x.dim() - 1)))
        with torch.no_grad():
            free = best_time(lambda: model(repeated), repeats)
        looped, batched = train_mode_predict_mc(model, x, T), mc_samples(model, x, T, seed=seed + 1)
    se = torch.sqrt((looped.var(0) + batched.var(0)) / T).clamp_min(1e-12)
    return {
        "loop_s": loop, "mc_samples_s": vectorised, "dropout_free_s": free,
        "speedup_over_loop": loop / vectorised, "overhead_over_dropout_free": vectorised / free,
        "max_mean_gap_in_se": float(((looped.mean(0) - batched.mean(0)).abs() / se).max()),
    }
