"""Networks with dropout before every weight layer (chapter 6, "MC dropout prediction").

The paper's approximating family puts a Bernoulli mask on the input of every weight matrix
(Gal & Ghahramani, 2016, §3): here ``nn.Dropout(drop_prob)`` precedes every ``nn.Linear``
except, unless ``input_dropout``, the first.
"""

from __future__ import annotations

from torch import nn

from mcdrop import _checks

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class MLP(nn.Module):
    """Fully connected network ``[Dropout] → Linear → act → Dropout → Linear → … → Linear``.

    ``drop_prob`` is the DROP probability (PyTorch's convention; the paper's keep
    probability is ``1 − drop_prob``).
    """

    def __init__(self, in_features: int, hidden_layer_sizes=(50,), out_features: int = 1,
                 drop_prob: float = 0.05, activation: str = "relu", input_dropout: bool = False):
        super().__init__()
        _checks.positive_int("in_features", in_features)
        _checks.positive_int("out_features", out_features)
        sizes = [_checks.positive_int("hidden_layer_sizes entry", h) for h in hidden_layer_sizes]
        self.drop_prob = _checks.probability("drop_prob", drop_prob)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        layers: list[nn.Module] = [nn.Dropout(drop_prob)] if input_dropout else []
        widths = [in_features] + sizes
        for width_in, width_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(width_in, width_out), ACTIVATIONS[activation](), nn.Dropout(drop_prob)]
        layers.append(nn.Linear(widths[-1], out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    def linear_layers_with_keep_prob(self):
        """Each ``nn.Linear`` with the keep probability of the mask on its input (1 if none)."""
        keep = 1.0
        for module in self.net:
            if isinstance(module, nn.Dropout):
                keep = 1.0 - module.p
            elif isinstance(module, nn.Linear):
                yield module, keep
                keep = 1.0


class DigitsCNN(nn.Module):
    """A LeNet-style network for 8×8 digits with dropout before the last fully connected layer
    (the paper's Fig. 4 set-up, drop probability 0.5 by default; chapter 9).

    conv 3×3 (16) → ReLU → max-pool → conv 3×3 (32) → ReLU → max-pool → FC 128→64 → ReLU →
    Dropout → FC 64→``n_classes``. Input: (N, 1, 8, 8); output: logits (N, ``n_classes``).
    """

    def __init__(self, n_classes: int = 10, drop_prob: float = 0.5):
        super().__init__()
        _checks.positive_int("n_classes", n_classes)
        self.drop_prob = _checks.probability("drop_prob", drop_prob)
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Dropout(drop_prob), nn.Linear(64, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
