"""MC dropout beside the fixes a user would reach for, on UCI splits (chapter 11, "What MC dropout
gets wrong, measured", section 5). Command line, appending one row per method and finished split:

    python -m mcdrop.uci.methods --data yacht boston --splits 0-4 --out results/critiques/uci_user_table.csv

Every method sees the same split and is scored on its test rows by the mean test log-likelihood
(paper eq. (8) for the networks, in original units with the precision τ of the paper's Table 1
for the data set read in the units of y, as the official code does; the Gaussian density for the
GP), the coverage of the central 95 % interval of the Gaussian with the predictive mean and
variance, the RMSE of the predictive mean, and wall seconds to fit and to predict:

- ``"MC dropout"``: the paper protocol of chapter 10 unchanged (:func:`mcdrop.uci.protocols.train`,
  drop probability, τ, length-scale and epochs of Table 1, official weight decay, T passes); with
  the same ``seed`` its log-likelihood is that of ``python -m mcdrop.uci --protocol paper``.
- ``"Concrete dropout"``: :func:`mcdrop.training.fit_regressor` with ``dropout="concrete"`` and
  input dropout, the drop probabilities starting at Table 1's and learned, same network, epochs,
  batch size, length-scale and τ (in y's units), T passes.
- ``"deep ensemble"``: :func:`mcdrop.ensemble.fit_ensemble`, ``n_members`` networks of the same
  shape, epochs, batch size, length-scale and τ, without dropout.
- ``"exact GP"``: squared-exponential kernel on inputs and targets standardised with the training
  statistics, its length-scale, variance and noise variance fitted by the marginal likelihood
  (:func:`mcdrop.gp.fit_se_hyperparameters`, one start at length-scale 1, variance 1, noise
  variance 0.1); no τ is given to it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mcdrop import _checks, batched, calibration, concrete, ensemble, gp, predict
from mcdrop.training import _standardise, fit_regressor
from mcdrop.uci import data, protocols, reference
from mcdrop.uci.runlog import append_rows, code_revision, done_splits, log_provenance, parse_splits

METHODS = ("MC dropout", "Concrete dropout", "deep ensemble", "exact GP")
SCORES = ("log_likelihood", "coverage_95", "rmse", "fit_seconds", "predict_seconds")


def _int_seed(seed, name, split, method):
    return int(np.random.SeedSequence((seed, data.DATASETS.index(name), split, 2, method)).generate_state(1)[0])


def _mc_dropout(s, split, seed, X, y, X_test, y_test):
    _, tau, _ = protocols.PAPER_SETTINGS[s.name]
    parts = [[(protocols.PAPER_SETTINGS[s.name], X, y, X_test, y_test)]]
    start = time.perf_counter()
    model, _, stats, sampler = protocols.train(s, parts, [protocols._seed(seed, s, split, 1)])
    fitted = time.perf_counter()
    x_mean, x_scale, y_mean, y_scale = stats[0]
    mean, var, ll = batched.mc_statistics(model, [(X_test - x_mean) / x_scale], [y_test], [y_mean], [y_scale],
                                          [[tau]], s.T, sampler)
    mean, var, ll = mean[0].numpy(), var[0].numpy() + 1 / tau, ll[0, 0].numpy()
    return fitted - start, time.perf_counter() - fitted, mean, var, ll, {}


def _concrete(s, split, seed, X, y, X_test, y_test):
    drop, tau, lengthscale = protocols.PAPER_SETTINGS[s.name]
    start = time.perf_counter()
    model = fit_regressor(X, y, hidden_layer_sizes=(s.n_hidden,), drop_prob=drop, lengthscale=lengthscale,
                          n_epochs=s.n_epochs, batch_size=s.batch_size, input_dropout=True, dropout="concrete",
                          tau=tau, seed=_int_seed(seed, s.name, split, 1), progress=False)
    fitted = time.perf_counter()
    samples = torch.as_tensor(model.samples(X_test, s.T, seed=_int_seed(seed, s.name, split, 11)))
    mean, var = predict.regression_moments(samples, tau)
    ll = predict.regression_log_likelihood(samples, y_test, tau)
    learned = " ".join(f"{p:.4g}" for p in concrete.drop_probs(model.model))
    return fitted - start, time.perf_counter() - fitted, mean.numpy(), var.numpy(), ll.numpy(), \
        {"learned_drop_probs": learned}


def _ensemble(s, split, seed, X, y, X_test, y_test, n_members):
    _, tau, lengthscale = protocols.PAPER_SETTINGS[s.name]
    start = time.perf_counter()
    model = ensemble.fit_ensemble(X, y, n_members=n_members, tau=tau, seed=_int_seed(seed, s.name, split, 2),
                                  hidden_layer_sizes=(s.n_hidden,), lengthscale=lengthscale, n_epochs=s.n_epochs,
                                  batch_size=s.batch_size)
    fitted = time.perf_counter()
    mean, var = model.predict(X_test)
    ll = model.log_likelihood(X_test, y_test)
    return fitted - start, time.perf_counter() - fitted, mean, var, ll, {}


def _exact_gp(s, split, seed, X, y, X_test, y_test):  # deterministic: seed and split unused
    start = time.perf_counter()
    x_mean, x_scale = _standardise("X", X)
    y_mean, y_scale = _standardise("y", y)
    Xs, ys = (X - x_mean) / x_scale, (y - y_mean) / y_scale
    h = gp.fit_se_hyperparameters(Xs, ys, n_restarts=1)  # from (1, 1, 0.1): restarts cost minutes on Boston
    fitted = time.perf_counter()
    kernel = lambda A, B: gp.se_kernel(A, B, h["lengthscale"], h["variance"])  # noqa: E731
    f_mean, f_cov = gp.posterior(Xs, ys, (X_test - x_mean) / x_scale, kernel, h["noise_variance"])
    mean = f_mean * y_scale + y_mean
    var = (np.clip(np.diag(f_cov), 0, None) + h["noise_variance"]) * y_scale**2
    ll = calibration.gaussian_log_likelihood(mean, np.sqrt(var), y_test)
    extras = {key: h[key] for key in ("lengthscale", "variance", "noise_variance")}
    return fitted - start, time.perf_counter() - fitted, mean, var, ll, extras


def score_split(name: str, split: int, methods=METHODS, *, seed: int = 0, T: int = 10_000, n_members: int = 5,
                n_epochs=None) -> list[dict]:
    """One row per method of ``methods`` on split ``split`` of data set ``name`` (chapter 11):
    the scores of :data:`SCORES` and the settings. Seeded: the same arguments give the same
    numbers. ``n_epochs`` (default: the paper protocol's) and ``T`` apply to every network."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods must be among {METHODS}, got {unknown}")
    seed = _checks.int_seed("seed", seed)
    n_members = _checks.positive_int("n_members", n_members)
    s = protocols.settings(name, "paper", n_epochs, T)
    split = int(split)
    if not 0 <= split < data.n_splits(name):
        raise ValueError(f"split must lie in 0..{data.n_splits(name) - 1} for {name}, got {split}")
    X, y, X_test, y_test = data.load(name, split)
    fits = {"MC dropout": _mc_dropout, "Concrete dropout": _concrete, "exact GP": _exact_gp,
            "deep ensemble": lambda *args: _ensemble(*args, n_members)}
    drop, tau, lengthscale = protocols.PAPER_SETTINGS[name]
    rows = []
    for method in methods:
        fit_seconds, predict_seconds, mean, var, ll, extras = fits[method](s, split, seed, X, y, X_test, y_test)
        rows.append({"dataset": name, "split": split, "method": method, "log_likelihood": float(np.mean(ll)),
                     "coverage_95": float(calibration.interval_coverage(mean, np.sqrt(var), y_test, levels=(0.95,))[0]),
                     "rmse": float(np.sqrt(np.mean((mean - y_test) ** 2))), "fit_seconds": fit_seconds,
                     "predict_seconds": predict_seconds, "drop_prob": drop, "tau": tau, "lengthscale": lengthscale,
                     "n_epochs": s.n_epochs, "batch_size": s.batch_size, "T": s.T, "n_members": n_members,
                     "seed": seed, **extras})
    return rows


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per data set and method: mean and standard error over splits (:func:`reference.summarise`)
    of the log-likelihood, the 95 % coverage, the RMSE and the fit seconds."""
    return reference.summarise(results, by=("dataset", "method"),
                               columns=("log_likelihood", "coverage_95", "rmse", "fit_seconds"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcdrop.uci.methods", description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, choices=data.DATASETS, help="data set(s)")
    parser.add_argument("--splits", type=parse_splits, required=True, help="e.g. 0-4")
    parser.add_argument("--out", type=Path, required=True, help="CSV to append to")
    parser.add_argument("--T", type=int, default=10_000, help="MC dropout passes")
    parser.add_argument("--members", type=int, default=5, help="deep ensemble members")
    parser.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    revision = code_revision()
    for name in args.data:
        done = done_splits(args.out, name)
        todo = [k for k in args.splits if k not in done]
        start = time.perf_counter()
        for k in todo:
            append_rows(args.out, score_split(name, k, seed=args.seed, T=args.T, n_members=args.members))
            print(f"{name} split {k} done", flush=True)
        if todo:
            log_provenance(args.out, argv, name, todo, time.perf_counter() - start, revision, prog=parser.prog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
