"""mcdrop.adversarial, mcdrop.metrics, mcdrop.digits and classifier training."""

import numpy as np
import pytest
import torch
from sklearn.metrics import brier_score_loss, log_loss
from torch import nn

from mcdrop import adversarial, digits, metrics
from mcdrop.models import DigitsCNN
from mcdrop.training import fit_classifier


def _linear_classifier():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 3)).double()


def test_fgsm_moves_each_input_by_eps_along_the_loss_gradient_sign():
    model, x, y = _linear_classifier().train(), torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
    adv = adversarial.fgsm(model, x, y, eps=0.1)
    assert model.training and all(p.grad is None for p in model.parameters())
    torch.testing.assert_close((adv - x).abs(), torch.full_like(x, 0.1))
    # The sign agrees with a central finite difference of the eval-mode loss, coordinate by coordinate.
    model.eval()
    loss = lambda z: nn.functional.cross_entropy(model(z), y, reduction="sum")  # noqa: E731
    for i, j in [(0, 0), (3, 2), (5, 1)]:
        step = torch.zeros_like(x)
        step[i, j] = 1e-6
        derivative = (loss(x + step) - loss(x - step)) / 2e-6
        assert torch.sign(derivative) == torch.sign(adv[i, j] - x[i, j])


def test_fgsm_increases_the_loss_and_respects_clip():
    model, x, y = _linear_classifier().eval(), torch.rand(50, 4, dtype=torch.float64), torch.randint(0, 3, (50,))
    adv = adversarial.fgsm(model, x, y, eps=0.2, clip=(0.0, 1.0))
    assert adv.min() >= 0 and adv.max() <= 1
    with torch.no_grad():
        assert nn.functional.cross_entropy(model(adv), y) > nn.functional.cross_entropy(model(x), y)
    torch.testing.assert_close(adversarial.fgsm(model, x, y, eps=0.0), x)


def test_fgsm_mc_increases_the_mc_loss():
    from mcdrop.predict import mc_samples

    model, x, y = _linear_classifier(), torch.randn(40, 4, dtype=torch.float64), torch.randint(0, 3, (40,))
    adv = adversarial.fgsm_mc(model, x, y, eps=0.2, T=50, seed=1)

    def mc_loss(z):
        probs = mc_samples(model, z, 50, seed=1).softmax(-1).mean(0)
        return nn.functional.nll_loss(probs.log(), y)

    assert mc_loss(adv) > mc_loss(x)


def test_attacks_reject_bad_arguments():
    model, x, y = _linear_classifier(), torch.randn(3, 4, dtype=torch.float64), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="eps"):
        adversarial.fgsm(model, x, y, eps=-0.1)
    with pytest.raises(ValueError, match="x has 3 rows but y has 2"):
        adversarial.fgsm(model, x, y[:2], eps=0.1)
    with pytest.raises(ValueError, match="clip"):
        adversarial.fgsm_mc(model, x, y, eps=0.1, clip=(1.0, 0.0))
    with pytest.raises(ValueError, match="T"):
        adversarial.fgsm_mc(model, x, y, eps=0.1, T=0)


def test_calibration_error_on_a_hand_computed_case():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])
    bins = metrics.expected_calibration_error(probs, labels, n_bins=2)
    # bin (0.5, 1]: confidences .9 .8 .7 .6 (mean .75), accuracy 3/4: ECE = |0.75 − 0.75| = 0.
    assert bins.counts.tolist() == [0, 4] and bins.ece == pytest.approx(0.0)
    bins = metrics.expected_calibration_error(probs, labels, n_bins=5)
    # edges 0, .2, …, 1 (right-closed): (.4,.6] holds .6 (right); (.6,.8] holds .8 (wrong) and .7 (right);
    # (.8,1] holds .9 (right). ECE = (1·|1 − .6| + 2·|.5 − .75| + 1·|1 − .9|) / 4 = 0.25.
    expected = (abs(1 - 0.6) + 2 * abs(0.5 - 0.75) + abs(1 - 0.9)) / 4
    assert bins.ece == pytest.approx(expected)


def test_perfectly_calibrated_probabilities_have_small_ece():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 100_000)
    labels = (rng.random(100_000) > p).astype(int)  # class 0 with probability p
    assert metrics.expected_calibration_error(np.column_stack([p, 1 - p]), labels).ece < 0.01


def test_brier_and_nll_match_scikit_learn_for_two_classes():
    rng = np.random.default_rng(1)
    p1 = rng.uniform(size=200)
    probs, labels = np.column_stack([1 - p1, p1]), rng.integers(0, 2, 200)
    assert metrics.brier_score(probs, labels) == pytest.approx(2 * brier_score_loss(labels, p1))
    assert metrics.negative_log_likelihood(probs, labels) == pytest.approx(log_loss(labels, probs))


def test_auroc_hand_computed():
    assert metrics.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="both classes"):
        metrics.auroc([0.1, 0.2], [1, 1])


def test_metrics_reject_bad_probabilities():
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.brier_score(np.full((2, 2), 0.3), np.array([0, 1]))
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.negative_log_likelihood(np.full((2, 2), 0.5), np.array([0, 2]))
    with pytest.raises(ValueError, match="n_bins"):
        metrics.expected_calibration_error(np.full((2, 2), 0.5), np.array([0, 1]), n_bins=0)


def test_digit_splits_and_rotation():
    splits = digits.load_digit_splits(seed=0)
    assert splits.X_train.shape[1:] == (1, 8, 8) and len(splits.X_train) + len(splits.X_test) == 1797
    assert 0.0 <= splits.X_train.min() and splits.X_train.max() <= 1.0
    image = splits.X_test[0]
    rotated = digits.rotate(image, [0.0, 90.0, 360.0])
    torch.testing.assert_close(rotated[0], image)
    torch.testing.assert_close(rotated[1, 0], torch.rot90(image[0]), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="image"):
        digits.rotate(image[0], [0.0])


def test_cnn_learns_digits_quickly_and_reproducibly():
    splits = digits.load_digit_splits(seed=0)
    nets = []
    for _ in range(2):
        torch.manual_seed(0)
        net = DigitsCNN()
        fit_classifier(net, splits.X_train, splits.y_train, n_epochs=8, batch_size=64, seed=0, progress=False)
        nets.append(net)
    torch.testing.assert_close(nets[0].state_dict(), nets[1].state_dict())
    with torch.no_grad():
        accuracy = (nets[0](splits.X_test).argmax(1) == splits.y_test).float().mean()
    assert accuracy > 0.85
    with pytest.raises(ValueError, match="X has"):
        fit_classifier(nets[0], splits.X_train, splits.y_train[:-1], n_epochs=1)


def test_fit_classifier_refuses_bad_data_and_decay_by_name():
    net = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    X, y = torch.randn(10, 2), torch.randint(0, 2, (10,))
    with pytest.raises(ValueError, match="X contains NaN"):
        fit_classifier(net, torch.where(X > 1, torch.nan, X), y, n_epochs=1, progress=False)
    with pytest.raises(ValueError, match="optimizer_weight_decay"):
        fit_classifier(net, X, y, n_epochs=1, optimizer_weight_decay=float("nan"), progress=False)
    with pytest.raises(ValueError, match="at least one training example"):
        fit_classifier(net, X[:0], y[:0], n_epochs=1, progress=False)
    with pytest.raises(TypeError, match="integer class labels"):
        fit_classifier(net, X, y.float(), n_epochs=1, progress=False)
