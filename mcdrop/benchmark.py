"""Timing MC dropout prediction (chapter 8, "California housing").

``looped_predict_mc`` reproduces the seed report's ``predict_mc`` — ``model.train()`` and a
Python loop of T forward passes — for comparison only: on a network with BatchNorm it
changes predictions and running statistics (chapter 6 shows both).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from mcdrop import _checks
from mcdrop._torch_state import preserved_modes
from mcdrop.predict import mc_samples


def looped_predict_mc(model: nn.Module, x: torch.Tensor, T: int) -> torch.Tensor:
    """The seed report's approach: ``model.train()`` then T separate passes; shape ``(T, *model(x).shape)``."""
    T = _checks.positive_int("T", T)
    model.train()
    with torch.no_grad():
        return torch.stack([model(x) for _ in range(T)])


def _best_time(fn, repeats):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_mc_prediction(model: nn.Module, x: torch.Tensor, T: int = 100, repeats: int = 5, seed: int = 0) -> dict:
    """Best-of-``repeats`` seconds of the looped passes, of :func:`~mcdrop.predict.mc_samples`, and of one
    dropout-free pass over the same ``T·N`` rows; plus the largest gap between the two
    samplers' per-output means, in units of its Monte Carlo standard error."""
    repeats = _checks.positive_int("repeats", repeats)
    with preserved_modes(model), torch.random.fork_rng():
        torch.manual_seed(seed)
        loop = _best_time(lambda: looped_predict_mc(model, x, T), repeats)
        vectorised = _best_time(lambda: mc_samples(model, x, T, seed=seed), repeats)
        model.eval()
        repeated = x.repeat(T, *([1] * (x.dim() - 1)))
        with torch.no_grad():
            free = _best_time(lambda: model(repeated), repeats)
        looped, batched = looped_predict_mc(model, x, T), mc_samples(model, x, T, seed=seed + 1)
    se = torch.sqrt((looped.var(0) + batched.var(0)) / T).clamp_min(1e-12)
    return {
        "loop_s": loop, "mc_samples_s": vectorised, "dropout_free_s": free,
        "speedup_over_loop": loop / vectorised, "overhead_over_dropout_free": vectorised / free,
        "max_mean_gap_in_se": float(((looped.mean(0) - batched.mean(0)).abs() / se).max()),
    }
