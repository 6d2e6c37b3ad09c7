"""Context managers that leave a model's modes and torch's global RNG as they found them."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn


@contextlib.contextmanager
def preserved_modes(model: nn.Module):
    """Restore every submodule's ``training`` flag on exit, even when the modes were mixed."""
    modes = {module: module.training for module in model.modules()}
    try:
        yield model
    finally:
        for module, mode in modes.items():
            module.training = mode


@contextlib.contextmanager
def seeded_global_rng(seed=None):
    """Run the block with torch's global RNG seeded from ``seed`` and restore the RNG afterwards."""
    with torch.random.fork_rng():
        torch.manual_seed(int(np.random.default_rng(seed).integers(2**62)))
        yield
