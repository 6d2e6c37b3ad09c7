"""mcdrop: Dropout as a Bayesian approximation, derived and reproduced.

Each module belongs to the chapter of the book that derives it; see its docstring.
"""

from mcdrop import gp, network_kernels

__all__ = ["gp", "network_kernels"]
__version__ = "0.1.0"
