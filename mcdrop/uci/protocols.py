"""The paper's UCI protocol and the 2018 leak-free grid search (chapter 10, "UCI Table 1").

``"paper"`` (Table 1, the official 2016 code): one hidden layer (50 units; Protein 100),
dropout on the inputs and the hidden layer, the per-data-set drop probability, τ and prior
length-scale the paper used, 400 epochs (Protein 200), batch 32, Adam, no search; τ came from
a Bayesian optimisation whose validation points were test points of other splits.
``"grid"`` (the 2018 repository): per split, every (drop probability, τ) of the data set's grid
is trained on the first 80 % of the training rows and scored by validation log-likelihood; the
best pair is retrained on the whole split; 4,000 epochs (Protein 2,000), batch 128, l = 1e-2.

Both use the official weight-decay convention (``MSE + reg·‖W‖²``, ``reg = p·l²/(2Nτ)``, no bias
decay; :func:`mcdrop.kl.optimizer_weight_decay`, paper eq. (7)) and use τ unchanged in the weight
decay of a net trained on standardised targets; each is an argument. The test log-likelihood is
paper eq. (8) in original units, computed two ways: ``log_likelihood`` with τ as the precision
in original units (the official code), ``log_likelihood_std_tau`` with τ as the precision of
the standardised target (precision τ/σ_y² in original units; the repository's issue #4).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from mcdrop import _checks, batched, kl
from mcdrop.training import _standardise
from mcdrop.uci import data

PROTOCOLS = ("paper", "grid")
# drop probability, τ (from the 2016 Bayesian optimisation), prior length-scale: UCI_PROTOCOL.md, protocol A
PAPER_SETTINGS = {
    "boston": (0.05, 0.159707652696, 1e-2), "concrete": (0.01, 0.0557319157756, 1e-2),
    "energy": (0.05, 0.427114830213, 1e-2), "kin8nm": (0.05, 192.482910156, 1e-2),
    "naval": (0.05, 42173.5152106, 1.0), "power": (0.005, 0.0871109017617, 1e-2),
    "protein": (0.005, 0.0644419184588, 1e-2), "wine": (0.05, 2.95833720839, 1e-2),
    "yacht": (0.01, 0.541869562034, 1e-1),
}
TAU_UNITS = ("standardised", "original")


@dataclass(frozen=True)
class Settings:
    """Everything that defines one protocol run of one data set (see :func:`settings`)."""

    name: str
    protocol: str
    n_epochs: int
    batch_size: int
    n_hidden: int
    T: int
    weight_decay_convention: str = "official"
    bias_decay: bool = False
    tau_units: str = "standardised"
    score_search_on_test: bool = False


def settings(name: str, protocol: str = "paper", n_epochs=None, T: int = 10_000, **options) -> Settings:
    """The protocol's defaults for ``name``, with ``n_epochs``, ``T`` and any :class:`Settings`
    field in ``options`` overridden."""
    data._check_name(name)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    multiplier = 10 if protocol == "paper" else 100
    n_epochs = data.n_epochs_base(name) * multiplier if n_epochs is None else _checks.positive_int("n_epochs", n_epochs)
    chosen = Settings(name, protocol, n_epochs, 32 if protocol == "paper" else 128, data.n_hidden(name),
                      _checks.positive_int("T", T))
    chosen = replace(chosen, **options)
    if chosen.weight_decay_convention not in kl.CONVENTIONS:
        raise ValueError(f"weight_decay_convention must be one of {kl.CONVENTIONS}, got {chosen.weight_decay_convention!r}")
    if chosen.tau_units not in TAU_UNITS:
        raise ValueError(f"tau_units must be one of {TAU_UNITS}, got {chosen.tau_units!r}")
    _checks.positive_int("batch_size", chosen.batch_size)
    return chosen


def candidates(s: Settings):
    """``(drop_prob, τ, length-scale)`` triples the protocol trains for one split."""
    if s.protocol == "paper":
        return [PAPER_SETTINGS[s.name]]
    drops, taus = data.grid(s.name)
    return [(p, tau, 1e-2) for p in drops for tau in taus]


def _decays(s: Settings, triples, n_rows, y_scale):
    weight, bias = [], []
    for drop, tau, lengthscale in triples:
        tau_train = tau if s.tau_units == "standardised" else tau * y_scale**2
        weight.append(kl.optimizer_weight_decay(lengthscale, drop, n_rows, tau_train, loss="mse",
                                                convention=s.weight_decay_convention))
        bias.append(kl.bias_weight_decay(lengthscale, n_rows, tau_train, loss="mse") if s.bias_decay else 0.0)
    return weight, bias


def prepare(s: Settings, parts):
    """Standardise each model's data with its own training statistics and compute its decays.

    ``parts`` lists groups (one per split) of ``(triple, X_train, y_train, X_eval, y_eval)``.
    Returns the flat list of parts, the standardised training inputs and targets, the
    standardisation ``(x_mean, x_scale, y_mean, y_scale)`` per model, and the weight and bias
    decays (torch ``weight_decay`` values for an MSE loss, paper eq. (7))."""
    flat = [p for group in parts for p in group]
    stats = [(*_standardise("X", X), *_standardise("y", y)) for _, X, y, _, _ in flat]
    inputs = [(X - xm) / xs for (_, X, _, _, _), (xm, xs, _, _) in zip(flat, stats)]
    targets = [(y - ym) / ys for (_, _, y, _, _), (_, _, ym, ys) in zip(flat, stats)]
    weight, bias = [], []
    for (triple, X, _, _, _), (_, _, _, ys) in zip(flat, stats):
        w, b = _decays(s, [triple], len(X), ys)
        weight += w
        bias += b
    return flat, inputs, targets, stats, weight, bias


def train(s: Settings, parts, seeds):
    """Train every model of ``parts`` (see :func:`prepare`) in one batched computation, group i
    drawing its random numbers from ``seeds[i]``. Returns the :class:`~mcdrop.batched.StackedMLP`,
    the flat parts, their standardisation and the sampler, whose generators go on to draw the
    prediction masks."""
    flat, inputs, targets, stats, weight, bias = prepare(s, parts)
    sampler = batched.seeded_sampler(seeds, [len(group) for group in parts])
    model = batched.train(inputs, targets, hidden_layer_sizes=(s.n_hidden,), drop_prob=[p[0][0] for p in flat],
                          weight_decay=weight, bias_decay=bias, n_epochs=s.n_epochs, batch_size=s.batch_size,
                          sampler=sampler)
    return model, flat, stats, sampler


def fit_and_score(s: Settings, parts, seeds, also=None):
    """Train the models of ``parts`` (:func:`train`) and score each on its evaluation rows: MC
    RMSE and mean LL with τ in original units and in standardised units, one dict per model.
    ``also`` (one ``(X, y)`` per model) is a second evaluation set, scored afterwards under
    ``test_`` keys."""
    model, flat, stats, sampler = train(s, parts, seeds)
    y_mean = np.array([ym for *_, ym, _ in stats])
    y_scale = np.array([ys for *_, ys in stats])
    taus = np.array([[t[1], t[1] / ys**2] for (t, *_), ys in zip(flat, y_scale)])
    scores = [{} for _ in flat]
    for prefix, sets in (("", [(p[3], p[4]) for p in flat]), ("test_", also)):
        if sets is None:
            continue
        eval_inputs = [(Xe - xm) / xs for (Xe, _), (xm, xs, _, _) in zip(sets, stats)]
        mean, _, ll = batched.mc_statistics(model, eval_inputs, [ye for _, ye in sets], y_mean, y_scale, taus, s.T, sampler)
        for m, (_, ye) in enumerate(sets):
            n = len(ye)
            scores[m].update({f"{prefix}rmse": float(np.sqrt(np.mean((mean[m, :n].numpy() - ye) ** 2))),
                              f"{prefix}log_likelihood": float(ll[m, 0, :n].mean()),
                              f"{prefix}log_likelihood_std_tau": float(ll[m, 1, :n].mean())})
    return scores


def search_parts(s: Settings, split: int, loaded=None):
    """The grid search's models of one split: every candidate on the first 80 % of the training
    rows, evaluated on the last 20 % (the official code's validation split)."""
    X, y = (loaded or data.load(s.name, split))[:2]
    cut = int(0.8 * len(y))
    return [(t, X[:cut], y[:cut], X[cut:], y[cut:]) for t in candidates(s)]


def _seed(seed, s: Settings, split, phase):
    return (int(seed), data.DATASETS.index(s.name), int(split), phase)


def run_block(s: Settings, splits, seed: int = 0) -> list[dict]:
    """One row per split of ``splits``, all trained in one batched computation per phase."""
    start = time.perf_counter()
    loaded = {k: data.load(s.name, k) for k in splits}
    triples = candidates(s)
    rows = {k: {"dataset": s.name, "split": k} for k in splits}
    if s.protocol == "grid":
        parts = [search_parts(s, k, loaded[k]) for k in splits]
        also = [loaded[k][2:] for k in splits for _ in triples] if s.score_search_on_test else None
        scores = fit_and_score(s, parts, [_seed(seed, s, k, 0) for k in splits], also)
        for i, k in enumerate(splits):
            mine = scores[i * len(triples):(i + 1) * len(triples)]
            best = int(np.argmax([sc["log_likelihood"] for sc in mine]))
            rows[k].update(val_log_likelihood=mine[best]["log_likelihood"], chosen=best)
            if s.score_search_on_test:
                leaked = int(np.argmax([sc["test_log_likelihood"] for sc in mine]))
                rows[k].update(search_test_log_likelihood=mine[best]["test_log_likelihood"],
                               leaked_log_likelihood=mine[leaked]["test_log_likelihood"],
                               leaked_drop_prob=triples[leaked][0], leaked_tau=triples[leaked][1])
    parts = [[(triples[rows[k].pop("chosen", 0)], *loaded[k])] for k in splits]
    scores = fit_and_score(s, parts, [_seed(seed, s, k, 1) for k in splits])
    for i, k in enumerate(splits):
        drop, tau, lengthscale = parts[i][0][0]
        rows[k].update(drop_prob=drop, tau=tau, lengthscale=lengthscale, **scores[i])
    seconds = (time.perf_counter() - start) / len(splits)
    settings_columns = {key: value for key, value in asdict(s).items() if key != "name"}
    return [{**rows[k], "seconds": seconds, "seed": seed, **settings_columns} for k in splits]


def _blocks(splits, n_jobs, splits_per_task):
    if splits_per_task is None:
        splits_per_task = max(1, math.ceil(len(splits) / max(n_jobs, 1)))
    splits_per_task = _checks.positive_int("splits_per_task", splits_per_task)
    return [splits[i:i + splits_per_task] for i in range(0, len(splits), splits_per_task)]


def run(name: str, protocol: str = "paper", splits=None, n_epochs=None, T: int = 10_000, seed: int = 0,
        n_jobs: int = 1, device: str = "cpu", *, splits_per_task=None, on_rows=None, **options) -> pd.DataFrame:
    """Run ``protocol`` on data set ``name``: a DataFrame with one row per split (columns
    ``dataset, split, drop_prob, tau, rmse, log_likelihood, seconds`` and the extras
    ``log_likelihood_std_tau``, the settings, and for ``"grid"`` the validation LL of the
    chosen pair). ``options`` are :class:`Settings` fields (``weight_decay_convention``,
    ``bias_decay``, ``tau_units``, ``batch_size``, ``score_search_on_test``: also score every
    searched pair on the test set, to measure what choosing on test points would gain).

    Splits are trained in blocks of ``splits_per_task`` (default: one block per job),
    dispatched through joblib with ``n_jobs`` (so ``joblib.parallel_config(backend="dask")``
    runs them on a Dask cluster); a split's numbers depend only on ``seed``, the data set, the
    split and the settings, not on the blocks. ``on_rows`` is called with each finished block's
    rows (the command line appends them to its CSV). ``seconds`` is the block's wall time per split.
    """
    from joblib import Parallel, delayed

    if device != "cpu":
        raise ValueError(f"device must be 'cpu' (the batched trainer runs on the CPU only), got {device!r}")
    s = settings(name, protocol, n_epochs, T, **options)
    count = data.n_splits(name)
    splits = list(range(count)) if splits is None else [int(k) for k in splits]
    if any(not 0 <= k < count for k in splits):
        raise ValueError(f"splits must lie in 0..{count - 1} for {name}, got {splits}")
    n_jobs = _checks.positive_int("n_jobs", n_jobs)
    rows = []
    if splits:
        tasks = (delayed(run_block)(s, block, seed) for block in _blocks(splits, n_jobs, splits_per_task))
        for block_rows in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
            rows += block_rows
            if on_rows is not None:
                on_rows(block_rows)
    columns = ["dataset", "split", "drop_prob", "tau", "rmse", "log_likelihood", "seconds"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    return frame[columns + [c for c in frame.columns if c not in columns]].sort_values("split", ignore_index=True)
