"""UCI regression: the paper's Table 1 reproduced (chapter 10, "UCI Table 1").

``data`` reads the nine official data sets and splits; ``batched`` trains and MC-evaluates many
small dropout networks as one computation; ``protocols`` runs the paper's 2016 protocol and the
2018 leak-free grid search; ``reference`` holds the published numbers they are compared with.
"""

from mcdrop.uci import batched, reference
from mcdrop.uci.data import DATASETS, grid, load, n_splits
from mcdrop.uci.protocols import PROTOCOLS, run, settings

__all__ = ["DATASETS", "PROTOCOLS", "batched", "grid", "load", "n_splits", "reference", "run", "settings"]
