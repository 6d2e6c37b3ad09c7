"""Command line for the UCI protocols (chapter 10): appends one row per finished split to a CSV
and skips the splits already there, so a long run can stop and resume.

    python -m mcdrop.uci --data yacht --protocol grid [--splits 0-4] [--out results/uci/grid.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from mcdrop.uci import data, protocols
from mcdrop.uci.runlog import append_rows, code_revision, done_splits, log_provenance, parse_splits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcdrop.uci", description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, choices=data.DATASETS, help="data set(s)")
    parser.add_argument("--protocol", default="paper", choices=protocols.PROTOCOLS)
    parser.add_argument("--splits", type=parse_splits, default=None, help="e.g. 0-4 (default: all)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to append to")
    parser.add_argument("--epochs", type=int, default=None, help="default: the protocol's")
    parser.add_argument("--T", type=int, default=10_000, help="MC dropout passes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--splits-per-task", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--convention", default="official", choices=("official", "pytorch"))
    parser.add_argument("--bias-decay", action="store_true")
    parser.add_argument("--tau-units", default="standardised", choices=protocols.TAU_UNITS)
    parser.add_argument("--score-search-on-test", action="store_true",
                        help="grid: also score every searched pair on the test set (leak analysis)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    revision = code_revision()
    for name in args.data:
        wanted = args.splits if args.splits is not None else list(range(data.n_splits(name)))
        done = done_splits(args.out, name, protocol=args.protocol)
        todo = [k for k in wanted if k not in done]
        bar = tqdm(total=len(wanted), initial=len(wanted) - len(todo), desc=f"{name} {args.protocol}", unit="split")

        def finished(rows):
            append_rows(args.out, rows)
            bar.update(len(rows))

        start = time.perf_counter()
        protocols.run(name, args.protocol, splits=todo, n_epochs=args.epochs, T=args.T, seed=args.seed,
                      n_jobs=args.n_jobs, device=args.device, splits_per_task=args.splits_per_task, on_rows=finished,
                      weight_decay_convention=args.convention, bias_decay=args.bias_decay,
                      tau_units=args.tau_units, score_search_on_test=args.score_search_on_test)
        bar.close()
        if todo:
            log_provenance(args.out, argv, name, todo, time.perf_counter() - start, revision, prog=parser.prog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
