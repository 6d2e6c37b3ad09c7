"""Train a Fig. 2 CO2 network long enough to fit the seasonal cycle, resumably (chapter 7).

    PYTHONPATH=. MCDROP_DATA=... .venv/bin/python benchmarks/co2_paper_fidelity.py \
        --activation relu --hidden 128 128 128 128 --epochs 60000 --out results/co2/relu.json

Full-batch Adam (``--batch-size`` 272 = one step per epoch) on the objective of
:class:`mcdrop.co2.ResumableFit`. Every ``--checkpoint-every`` epochs the state goes to
``--checkpoint`` (not committed) and a line with the training RMSE of the deterministic net
and of the MC mean (T = 100) is printed. Run the same command again to resume. When all
epochs are done, or at the first checkpoint past ``--deadline-s`` seconds of this invocation
(then ``epochs_completed`` says how far it got, and the same command resumes), it writes ``--out``: per-grid-point MC means and stds (T = ``--T``) on the
training inputs and the extrapolation grid, the loss history, the first epochs' losses
(a fingerprint that ``tests/test_co2.py`` re-derives) and the provenance of the run.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mcdrop import co2, datasets

FINGERPRINT_EPOCHS = 5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", default="relu", choices=["relu", "tanh"])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128] * 4)
    parser.add_argument("--drop-prob", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=272)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-decay", type=float, default=1e-4, help="γ of lr·(1 + γ·t)^(-1/4)")
    parser.add_argument("--lengthscale", type=float, default=1e-2)
    parser.add_argument("--tau", type=float, default=10.0)
    parser.add_argument("--T", type=int, default=1000, help="MC passes for the stored panels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--checkpoint-every", type=int, default=2000)
    parser.add_argument("--deadline-s", type=float, default=float("inf"))
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def train_rmse(run, X, y, T=100, seed=0):
    fitted = run.fitted()
    det = np.sqrt(np.mean((fitted.deterministic(X) - y) ** 2))
    mc = np.sqrt(np.mean((fitted.samples(X, T, seed=seed).mean(0) - y) ** 2))
    return float(det), float(mc)


def git_revision():
    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "mcdrop", "benchmarks"], cwd=root,
                           capture_output=True, text=True).stdout.strip()
    return head, bool(dirty)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = co2.long_run_settings(vars(args))
    X, y = datasets.load_co2("train")
    X_grid, _ = datasets.load_co2("test")
    run = co2.ResumableFit(X, y, settings, args.activation, seed=args.seed, lr_decay=args.lr_decay)
    elapsed_before, revisions = 0.0, []
    if args.checkpoint.exists():
        state = torch.load(args.checkpoint, weights_only=False)
        run.load_state_dict(state)
        elapsed_before, revisions = state["wall_s"], state["revisions"]
        print(f"resumed at epoch {run.epoch} after {elapsed_before:.0f} s", flush=True)
    head, dirty = git_revision()  # read before training: the code this invocation runs
    revisions.append({"git_revision": head, "uncommitted_changes_in_code": dirty, "from_epoch": run.epoch})
    start = time.perf_counter()
    while run.epoch < args.epochs:
        run.train(min(args.checkpoint_every, args.epochs - run.epoch))
        wall = elapsed_before + time.perf_counter() - start
        state = run.state_dict() | {"wall_s": wall, "revisions": revisions}
        args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, args.checkpoint.with_suffix(".tmp"))
        os.replace(args.checkpoint.with_suffix(".tmp"), args.checkpoint)
        det, mc = train_rmse(run, X, y)
        print(f"epoch {run.epoch} wall {wall:.0f} s loss {run.history[-1]:.4f} train RMSE det {det:.3f} mc {mc:.3f}",
              flush=True)
        if time.perf_counter() - start > args.deadline_s and run.epoch < args.epochs:
            print("deadline reached: checkpointed; writing the result so far (run again to resume)", flush=True)
            break
    wall = elapsed_before + time.perf_counter() - start
    det, mc = train_rmse(run, X, y, T=args.T, seed=args.seed)
    fitted = run.fitted()
    result = {
        "settings": {**vars(args), "checkpoint": str(args.checkpoint), "out": str(args.out),
                     "hidden": list(args.hidden), "deadline_s": None if np.isinf(args.deadline_s) else args.deadline_s},
        "activation": args.activation, "epochs_completed": run.epoch, "adam_steps": run.steps,
        "train_rmse_deterministic": det, "train_rmse_mc_mean": mc,
        "train": co2.grid_summary(fitted, X, args.T, seed=args.seed),
        "grid_x": X_grid[:, 0].tolist(), "grid": co2.grid_summary(fitted, X_grid, args.T, seed=args.seed),
        "fingerprint_losses": run.history[:FINGERPRINT_EPOCHS],
        "history_every_100": run.history[::100],
        "provenance": {
            "command": " ".join([Path(sys.executable).name, *sys.argv]), "git_revision": revisions[0]["git_revision"],
            "uncommitted_changes_in_code": any(r["uncommitted_changes_in_code"] for r in revisions),
            "invocations": revisions, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "wall_s_training": wall,
            "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=None, separators=(",", ":")))
    print(f"wrote {args.out}: train RMSE det {det:.3f}, MC mean (T = {args.T}) {mc:.3f}, {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()
