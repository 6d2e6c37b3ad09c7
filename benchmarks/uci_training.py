"""Time the UCI grid search trained one model at a time vs batched (not a test; run it by hand).

    MCDROP_DATA=... .venv/bin/python benchmarks/uci_training.py [--data yacht] [--epochs 40] [--threads 1]

(a) ``mcdrop.training.fit_regressor`` on each of the 12 (drop probability, τ) pairs of one
split's search, one after the other (its per-model time is taken as the sequential cost of
M = 240 too); (b) ``mcdrop.uci.batched.train`` on the same 12 models (M = 12) and on the
search of all 20 splits (M = 240). Prints seconds, per-model speed-up, achieved GFLOP/s of the
training matmuls (6·n·(D·H + H) per model and epoch) and the machine's large-matmul rate, and
the load average (the CPU may be shared).
"""

import argparse
import json
import os
import time

import torch

from mcdrop.training import fit_regressor
from mcdrop.uci import batched, data, protocols


def matmul_gflops(size=2048, repeats=3):
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def training_flops(models, n_epochs, n_hidden):
    return sum(6 * len(X) * (X.shape[1] * n_hidden + n_hidden) for _, X, *_ in models) * n_epochs


def batched_seconds(s, splits, epochs):
    parts = [protocols.search_parts(s, k) for k in splits]
    flat, inputs, targets, _, weight, bias = protocols.prepare(s, parts)
    sampler = batched.seeded_sampler(list(splits), [len(g) for g in parts])
    seconds = _timed(lambda: batched.train(inputs, targets, hidden_layer_sizes=(s.n_hidden,),
                                           drop_prob=[p[0][0] for p in flat], weight_decay=weight, bias_decay=bias,
                                           n_epochs=epochs, batch_size=s.batch_size, sampler=sampler))
    return seconds, flat


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yacht", choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    s = protocols.settings(args.data, "grid", n_epochs=args.epochs)
    one_split = protocols.search_parts(s, 0)
    (drop, tau, lengthscale), X, y, _, _ = one_split[0]
    fit_regressor(X, y, n_epochs=1, progress=False, seed=0)  # warm-up: the first Adam step imports code
    batched_seconds(s, [0], 1)
    sequential = 0.0
    for (drop, tau, lengthscale), X, y, _, _ in one_split:
        sequential += _timed(lambda: fit_regressor(
            X, y, hidden_layer_sizes=(s.n_hidden,), drop_prob=drop, lengthscale=lengthscale, tau=tau,
            n_epochs=args.epochs, batch_size=s.batch_size, input_dropout=True, weight_decay_convention="official",
            bias_decay=False, seed=0, progress=False))
    per_model = sequential / len(one_split)
    report = {"data": args.data, "epochs": args.epochs, "threads": args.threads,
              "load_average": os.getloadavg(), "matmul_gflops": matmul_gflops(),
              "sequential_s_per_model": per_model}
    for label, splits in (("M12", [0]), ("M240", list(range(data.n_splits(args.data))))):
        seconds, flat = batched_seconds(s, splits, args.epochs)
        report[f"batched_{label}_s"] = seconds
        report[f"speedup_per_model_{label}"] = per_model * len(flat) / seconds
        report[f"gflops_{label}"] = training_flops(flat, args.epochs, s.n_hidden) / seconds / 1e9
    report["sequential_gflops"] = training_flops(one_split, args.epochs, s.n_hidden) / sequential / 1e9
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
