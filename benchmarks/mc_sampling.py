"""Time MC dropout prediction on the seed report's network (not a test; run it by hand).

    .venv/bin/python benchmarks/mc_sampling.py [--rows 64] [--T 100] [--threads 2]

Network: 8 inputs, 4 hidden layers of 1024 ReLU units, dropout 0.1, one output (the
California-housing report's model). Prints the looped ``predict_mc``, ``mcdrop.predict.mc_samples``
and one dropout-free pass over the same T·N rows, and their ratios.
"""

import argparse
import json

import torch

from mcdrop.benchmark import time_mc_prediction
from mcdrop.models import MLP


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64, help="inputs per prediction batch (N)")
    parser.add_argument("--T", type=int, default=100, help="stochastic passes")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MLP(8, (1024,) * 4, 1, drop_prob=0.1)
    x = torch.randn(args.rows, 8)
    print(json.dumps(time_mc_prediction(model, x, args.T, args.repeats), indent=2))


if __name__ == "__main__":
    main()
