"""Timing the batched UCI trainer against one-model-at-a-time training (chapter 10, "Cost").

Times are CPU seconds of this process (``time.process_time``), which stay meaningful when other
jobs share the cores; wall seconds are reported beside them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import pandas as pd
import torch
from torch.profiler import ProfilerActivity, profile

from mcdrop import _checks, batched
from mcdrop.training import fit_regressor
from mcdrop.uci import data, protocols


def timed(fn):
    """``(cpu_seconds, wall_seconds)`` of calling ``fn()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def matmul_gflops(size: int = 2048, repeats: int = 3) -> float:
    """The machine's large-matmul rate in GFLOP/s (float32, best of ``repeats``, CPU time)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    return 2 * size**3 / min(timed(lambda: a @ b)[0] for _ in range(repeats)) / 1e9


def training_flops(models, n_epochs: int, n_hidden: int) -> float:
    """Matmul FLOPs of training one-hidden-layer networks: ``6·n·(D·H + H)`` per model and epoch
    (forward, and the two backward products), for ``(triple, X, …)`` entries of ``models``."""
    return float(sum(6 * len(X) * (X.shape[1] * n_hidden + n_hidden) for _, X, *_ in models) * n_epochs)


def _batched(s, splits, n_epochs):
    parts = [protocols.search_parts(s, k) for k in splits]
    flat, inputs, targets, _, weight, bias = protocols.prepare(s, parts)
    sampler = batched.seeded_sampler(list(splits), [len(g) for g in parts])
    times = timed(lambda: batched.train(inputs, targets, hidden_layer_sizes=(s.n_hidden,),
                                        drop_prob=[p[0][0] for p in flat], weight_decay=weight, bias_decay=bias,
                                        n_epochs=n_epochs, batch_size=s.batch_size, sampler=sampler))
    return times, flat


def grid_training_times(name: str = "yacht", n_epochs: int = 40, n_splits=None) -> dict:
    """Train the grid search's networks of split 0 one at a time with
    :func:`mcdrop.training.fit_regressor` and batched (M = 12), and those of the first
    ``n_splits`` splits batched (default all: M = 240); return CPU and wall seconds, the
    per-model speed-up of each batched run over the sequential one, and achieved GFLOP/s."""
    n_epochs = _checks.positive_int("n_epochs", n_epochs)
    n_splits = data.n_splits(name) if n_splits is None else _checks.positive_int("n_splits", n_splits)
    s = protocols.settings(name, "grid", n_epochs=n_epochs)
    one_split = protocols.search_parts(s, 0)
    fit_regressor(one_split[0][1], one_split[0][2], n_epochs=1, progress=False, seed=0)  # first Adam step imports code
    _batched(s, [0], 1)
    cpu = wall = 0.0
    for (drop, tau, lengthscale), X, y, _, _ in one_split:
        c, w = timed(lambda: fit_regressor(
            X, y, hidden_layer_sizes=(s.n_hidden,), drop_prob=drop, lengthscale=lengthscale, tau=tau,
            n_epochs=n_epochs, batch_size=s.batch_size, input_dropout=True, weight_decay_convention="official",
            bias_decay=False, seed=0, progress=False))
        cpu, wall = cpu + c, wall + w
    out = {"threads": torch.get_num_threads(), "load_average_1min": os.getloadavg()[0],
           "sequential_cpu_s_per_model": cpu / len(one_split), "sequential_wall_s_per_model": wall / len(one_split),
           "sequential_gflops": training_flops(one_split, n_epochs, s.n_hidden) / cpu / 1e9}
    for label, splits in ((f"M{len(one_split)}", [0]), (f"M{len(one_split) * n_splits}", list(range(n_splits)))):
        (c, w), flat = _batched(s, splits, n_epochs)
        out[f"batched_{label}_cpu_s"], out[f"batched_{label}_wall_s"] = c, w
        out[f"speedup_per_model_{label}"] = out["sequential_cpu_s_per_model"] * len(flat) / c
        out[f"gflops_{label}"] = training_flops(flat, n_epochs, s.n_hidden) / c / 1e9
    return out


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: the profiler's C++ library logs its start and stop there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def step_profile(name: str = "yacht", n_epochs: int = 5, n_splits=None) -> pd.DataFrame:
    """Where the batched grid search's CPU time goes: ``torch.profiler`` self CPU time per
    operator while the networks of the first ``n_splits`` splits (default all) train for
    ``n_epochs``, as a share of the total, largest first (operator, ``share``, ``calls``)."""
    n_epochs = _checks.positive_int("n_epochs", n_epochs)
    n_splits = data.n_splits(name) if n_splits is None else _checks.positive_int("n_splits", n_splits)
    s = protocols.settings(name, "grid", n_epochs=n_epochs)
    with _stderr_silenced(), profile(activities=[ProfilerActivity.CPU]) as prof:
        _batched(s, list(range(n_splits)), n_epochs)
    events = prof.key_averages()
    frame = pd.DataFrame({"operator": [e.key for e in events], "self_cpu_us": [e.self_cpu_time_total for e in events],
                          "calls": [e.count for e in events]})
    frame["share"] = frame.self_cpu_us / frame.self_cpu_us.sum()
    return frame.sort_values("share", ascending=False).set_index("operator")[["share", "calls"]]
