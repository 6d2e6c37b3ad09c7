"""Published UCI numbers the book compares with (chapter 10, "UCI Table 1").

Source: ``UCI_PROTOCOL.md`` of the book's shared notes, which reads them from the official
repository ``yaringal/DropoutUncertaintyExps``: protocol A's committed result files
(``<name>/net/results/log.txt`` at ``a6259f1``, the paper's Table 1 Dropout column, mean ± std
over splits with ddof 0, here turned into standard errors), protocol C's files
(``results/log_100_xepochs_1_hidden_layers.txt`` at HEAD ``6eb4497``, the 2018 grid search,
mean ± standard error as logged), and PBP as quoted by Lakshminarayanan et al. (2017, Table 1;
± standard errors), and the pairs the 2018 search chose, from its validation logs. Of the paper's VI
column only Boston's entry is available (quoted in the book's ``PAPER.md``).
"""

from __future__ import annotations

import math

import pandas as pd

N_SPLITS = {"boston": 20, "concrete": 20, "energy": 20, "kin8nm": 20, "naval": 20, "power": 20, "protein": 5,
            "wine": 20, "yacht": 20}
# protocol A: MC RMSE mean, std; test LL mean, std (std over splits, ddof 0)
_PAPER = {
    "boston": (2.973510, 0.849369, -2.460037, 0.247767), "concrete": (5.229904, 0.527857, -3.038906, 0.090995),
    "energy": (1.663405, 0.193450, -1.985273, 0.088403), "kin8nm": (0.096472, 0.002980, 0.950895, 0.025689),
    "naval": (0.005467, 0.000323, 3.804583, 0.049530), "power": (4.022107, 0.183740, -2.795244, 0.046435),
    "protein": (4.355508, 0.043531, -2.891200, 0.009653), "wine": (0.620159, 0.039100, -0.933418, 0.063616),
    "yacht": (1.109250, 0.380146, -1.554059, 0.120352),
}
# protocol C (2018 grid search): MC RMSE mean, SE; test LL mean, SE
_GRID = {
    "boston": (2.903623, 0.176840, -2.401936, 0.041702), "concrete": (4.826460, 0.160534, -2.936656, 0.024828),
    "energy": (0.538867, 0.013524, -1.211517, 0.005319), "kin8nm": (0.078899, 0.000595, 1.136426, 0.006625),
    "naval": (0.000743, 0.000046, 4.449543, 0.002160), "power": (4.014226, 0.036771, -2.807789, 0.008626),
    "protein": (4.274228, 0.020866, -2.871297, 0.001492), "wine": (0.621809, 0.007974, -0.928090, 0.012738),
    "yacht": (0.666275, 0.048602, -1.250148, 0.015297),
}
# PBP (Hernández-Lobato & Adams 2015) via Lakshminarayanan et al. (2017): RMSE, SE; LL, SE
_PBP = {
    "boston": (3.01, 0.18, -2.57, 0.09), "concrete": (5.67, 0.09, -3.16, 0.02), "energy": (1.80, 0.05, -2.04, 0.02),
    "kin8nm": (0.10, 0.00, 0.90, 0.01), "naval": (0.01, 0.00, 3.73, 0.01), "power": (4.12, 0.03, -2.84, 0.01),
    "protein": (4.73, 0.01, -2.97, 0.00), "wine": (0.64, 0.01, -0.97, 0.01), "yacht": (1.02, 0.05, -1.63, 0.02),
}
# VI (Graves 2011) as printed in the paper's v6 (± standard errors): PAPER.md quotes Boston's only
_VI = {"boston": (4.32, 0.29, -2.90, 0.07)}
# seconds per split of the paper's own runs on a GPU (protocol A's table; the paper quotes Naval and Kin8nm)
PAPER_TRAIN_SECONDS = {"boston": 5.0, "concrete": 9.3, "energy": 7.1, "kin8nm": 63.5, "naval": 95.1,
                       "power": 75.9, "protein": 187.5, "wine": 14.4, "yacht": 3.1}
PAPER_TOTAL_SECONDS = {"naval": 276.0, "kin8nm": 188.0}
# the 2018 grid search's choice per split, read from the repository's validation logs:
# (drop probability, τ) → number of splits
GRID_CHOICES = {
    "boston": {(0.05, 0.2): 10, (0.1, 0.2): 5, (0.05, 0.15): 3, (0.005, 0.1): 1, (0.1, 0.1): 1},
    "concrete": {(0.005, 0.05): 10, (0.005, 0.075): 8, (0.01, 0.075): 2},
    "energy": {(0.005, 0.75): 20},
    "kin8nm": {(0.01, 200.0): 6, (0.01, 250.0): 6, (0.005, 200.0): 4, (0.005, 250.0): 4},
    "naval": {(0.005, 50000.0): 20},
    "power": {(0.005, 0.1): 11, (0.01, 0.1): 5, (0.005, 0.05): 3, (0.01, 0.05): 1},
    "protein": {(0.005, 0.05): 5},
    "wine": {(0.1, 3.5): 6, (0.1, 3.0): 4, (0.05, 3.5): 3, (0.05, 3.0): 3, (0.05, 2.5): 2, (0.1, 2.5): 2},
    "yacht": {(0.005, 0.75): 14, (0.01, 0.75): 6},
}


def table(source: str) -> pd.DataFrame:
    """Published numbers, one row per data set: ``rmse, rmse_se, log_likelihood,
    log_likelihood_se``. ``source`` is ``"paper"`` (Table 1 Dropout), ``"grid"`` (2018
    repository) or ``"pbp"``."""
    if source == "paper":
        rows = {k: (r, rs / math.sqrt(N_SPLITS[k]), ll, ls / math.sqrt(N_SPLITS[k])) for k, (r, rs, ll, ls) in _PAPER.items()}
    elif source == "grid":
        rows = _GRID
    elif source == "pbp":
        rows = _PBP
    elif source == "vi":
        rows = _VI
    else:
        raise ValueError(f"source must be 'paper', 'grid', 'pbp' or 'vi', got {source!r}")
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["rmse", "rmse_se", "log_likelihood", "log_likelihood_se"])
    frame.index.name = "dataset"
    return frame


def summarise(results: pd.DataFrame, by=("dataset",), columns=("rmse", "log_likelihood")) -> pd.DataFrame:
    """Per data set (per group of the ``by`` columns): mean and standard error (``np.std``,
    ddof 0, over √n_splits, as the official code) of each of ``columns``, and the number of splits."""
    grouped = results.groupby(list(by), sort=False)
    out = pd.DataFrame({"n_splits": grouped.size()})
    for column in columns:
        out[column] = grouped[column].mean()
        out[f"{column}_se"] = grouped[column].std(ddof=0) / out["n_splits"] ** 0.5
    return out


def compare(results: pd.DataFrame, source: str) -> pd.DataFrame:
    """Our per-data-set test LL beside the published one: the difference, its standard error
    (both SEs combined) and whether ours is above or within two of them (``agrees``)."""
    ours, theirs = summarise(results), table(source)
    both = ours.join(theirs.add_suffix("_published"), how="inner")
    both["difference"] = both["log_likelihood"] - both["log_likelihood_published"]
    both["difference_se"] = (both["log_likelihood_se"] ** 2 + both["log_likelihood_se_published"] ** 2) ** 0.5
    both["agrees"] = both["difference"] >= -2 * both["difference_se"]
    return both


def _formatted(frame: pd.DataFrame, column: str, digits: int) -> pd.Series:
    return frame[column].map(f"{{:.{digits}f}}".format) + " ± " + frame[f"{column}_se"].map(f"{{:.{digits}f}}".format)


def side_by_side(ours: dict[str, pd.DataFrame], digits: int = 2) -> pd.DataFrame:
    """Table 1 beside our runs: for each published source (paper Dropout, VI, PBP, 2018 grid) and each
    of ``ours`` (label → per-split results), "mean ± standard error" of RMSE and test LL per data
    set; data sets a run lacks are left empty."""
    columns = {}
    sources = [("Dropout (paper)", table("paper")), ("VI (paper)", table("vi")), ("PBP (paper)", table("pbp")),
               ("grid (2018 repo)", table("grid"))]
    sources += [(label, summarise(frame)) for label, frame in ours.items()]
    for label, frame in sources:
        for column, name in (("rmse", "RMSE"), ("log_likelihood", "test LL")):
            columns[(label, name)] = _formatted(frame, column, digits)
    out = pd.DataFrame(columns).reindex(list(N_SPLITS))
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.fillna("")


def grid_choices(results: pd.DataFrame) -> pd.DataFrame:
    """How often each (drop probability, τ) was chosen per data set, in ``results`` (a grid run:
    columns ``dataset, drop_prob, tau``) beside the 2018 repository's :data:`GRID_CHOICES`."""
    ours = results.groupby(["dataset", "drop_prob", "tau"]).size().rename("splits here")
    theirs = pd.Series({(name, p, t): n for name, pairs in GRID_CHOICES.items() for (p, t), n in pairs.items()},
                       name="splits, 2018 repository")
    theirs.index.names = ours.index.names
    both = pd.concat([ours, theirs], axis=1).fillna(0).astype(int)
    return both.loc[both.index.get_level_values("dataset").isin(results.dataset.unique())].sort_index()
