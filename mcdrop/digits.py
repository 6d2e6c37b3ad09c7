"""scikit-learn's 8×8 digits as a stand-in for MNIST (chapter 9, "When is a classifier uncertain?")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage

from mcdrop import _checks


class DigitSplits(NamedTuple):
    """Images (N, 1, 8, 8) in [0, 1] and integer labels, split into train and test."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def load_digit_splits(test_fraction: float = 0.2, seed=None) -> DigitSplits:
    """The 1,797 digits shipped with scikit-learn, pixel values scaled from 0–16 to [0, 1], split at
    random (stratified by label) into train and test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_fraction = _checks.probability("test_fraction", test_fraction, open_interval=True)
    seed = _checks.seed("seed", seed)
    if isinstance(seed, int) and seed >= 2**32:
        raise ValueError(f"seed must be below 2**32 (scikit-learn's limit), got {seed}")
    random_state = seed if isinstance(seed, int) else int(np.random.default_rng(seed).integers(2**32))
    data = load_digits()
    images = data.images.astype(np.float32)[:, None] / 16.0
    split = train_test_split(images, data.target, test_size=test_fraction, random_state=random_state, stratify=data.target)
    X_train, X_test, y_train, y_test = (torch.as_tensor(a) for a in split)
    return DigitSplits(X_train, y_train.long(), X_test, y_test.long())


def rotate(image: torch.Tensor, angles) -> torch.Tensor:
    """Copies of one (1, 8, 8) image rotated by each angle (degrees, counter-clockwise), bilinear,
    clipped to [0, 1]; shape (len(angles), 1, 8, 8)."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor of shape (1, 8, 8), got {type(image).__name__}")
    if image.shape != (1, 8, 8):
        raise ValueError(f"image must have shape (1, 8, 8), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"image must be a floating-point tensor with values in [0, 1] (as load_digit_splits "
                        f"returns), got dtype {image.dtype}; divide a 0–16 or 0–255 image by its maximum first")
    if not torch.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError(f"image must hold finite values in [0, 1], got values from {image.min().item()} "
                         f"to {image.max().item()}")
    angles = _checks.finite_array("angles", angles, ndim=1)
    rotated = [ndimage.rotate(image[0].numpy(), a, reshape=False, order=1, mode="constant") for a in angles]
    return torch.as_tensor(np.clip(np.stack(rotated), 0.0, 1.0), dtype=image.dtype)[:, None]
