"""UCI regression: the paper's Table 1 reproduced (chapter 10, "UCI Table 1").

``data`` reads the nine official data sets and splits; ``protocols`` runs the paper's 2016
protocol and the 2018 leak-free grid search, training many small dropout networks as one
computation with :mod:`mcdrop.batched`; ``reference`` holds the published numbers they are
compared with.
"""

from mcdrop.uci import reference
from mcdrop.uci.data import DATASETS, grid, load, n_splits
from mcdrop.uci.protocols import PROTOCOLS, run, settings

__all__ = ["DATASETS", "PROTOCOLS", "grid", "load", "n_splits", "reference", "run", "settings"]
