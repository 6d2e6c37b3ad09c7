"""Time the UCI grid search trained one model at a time vs batched (not a test; run it by hand).

    MCDROP_DATA=... .venv/bin/python benchmarks/uci_training.py [--data yacht] [--epochs 40] [--threads 1]

(a) ``mcdrop.training.fit_regressor`` on each of the 12 (drop probability, τ) pairs of one
split's search, one after the other (its per-model time stands for the sequential cost of
M = 240 too); (b) ``mcdrop.batched.train`` on the same 12 models (M = 12) and on the
search of all 20 splits (M = 240). Prints CPU seconds of the process (and wall seconds: the
cores may be shared), the per-model speed-up, the achieved GFLOP/s of the training matmuls
and the machine's large-matmul rate (``mcdrop.uci.timing``).
"""

import argparse
import json

import torch

from mcdrop.uci import data, timing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yacht", choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = {"data": args.data, "epochs": args.epochs, "matmul_gflops": timing.matmul_gflops()}
    report.update(timing.grid_training_times(args.data, args.epochs))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
