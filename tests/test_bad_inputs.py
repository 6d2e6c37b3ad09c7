"""Bad input to any public function raises ValueError or TypeError naming the argument (issue 9).

Each row: the call, the exception type, and the argument name the message must contain as a
whole word. Rows whose id starts with ``MAIN-`` already raised this way before issue 9 (the
same call, under the same names); the others are new.
A separate test checks that unusual but valid inputs (numpy scalars) are accepted.
"""

import re

import numpy as np
import pytest
import torch
from torch import nn

from mcdrop import (MCDropoutRegressor, adversarial, benchmark, calibration, co2, datasets, digits, dropout, gp, kl,
                    metrics, models, network_kernels, predict, training, vi)

NAN, INF = float("nan"), float("inf")


def _net(drop=0.2, dtype=torch.float32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(drop), nn.Linear(8, 2)).to(dtype)


def _x(n=4, fill=None, dtype=torch.float32):
    x = torch.randn(n, 3, dtype=dtype)
    if fill is not None:
        x[0, 0] = fill
    return x


def _labels(n=4):
    return torch.zeros(n, dtype=torch.long)


def _probs(n=4):
    return np.full((n, 2), 0.5)


def _phi():
    rng = np.random.default_rng(0)
    return rng.normal(size=(10, 2)), rng.normal(size=10)


def _image(dtype=torch.float32):
    return torch.rand(1, 8, 8).to(dtype) if dtype.is_floating_point else torch.randint(0, 255, (1, 8, 8), dtype=dtype)


def _case(id_, call, exc, name, main=False):
    return pytest.param(call, exc, name, id=("MAIN-" if main else "") + id_)


CASES = [
    # predict ----------------------------------------------------------------------------------
    _case("mc_samples-T-zero", lambda: predict.mc_samples(_net(), _x(), T=0), ValueError, "T", main=True),
    _case("mc_samples-T-str", lambda: predict.mc_samples(_net(), _x(), T="5"), TypeError, "T", main=True),
    _case("mc_samples-T-huge", lambda: predict.mc_samples(_net(), _x(), T=10**9), ValueError, "T"),
    _case("mc_samples-x-numpy", lambda: predict.mc_samples(_net(), np.zeros((4, 3)), T=2), TypeError, "x", main=True),
    _case("mc_samples-x-nan", lambda: predict.mc_samples(_net(), _x(fill=NAN), T=2), ValueError, "x", main=True),
    _case("mc_samples-x-1d", lambda: predict.mc_samples(_net(), torch.zeros(3), T=2), ValueError, "x"),
    _case("mc_samples-x-empty", lambda: predict.mc_samples(_net(), torch.zeros(0, 3), T=2), ValueError, "x", main=True),
    _case("mc_samples-x-float64", lambda: predict.mc_samples(_net(), _x(dtype=torch.float64), T=2), TypeError, "x"),
    _case("mc_samples-x-int", lambda: predict.mc_samples(_net(), torch.zeros(4, 3, dtype=torch.long), T=2),
          TypeError, "x"),
    _case("mc_samples-no-dropout", lambda: predict.mc_samples(nn.Linear(3, 1), _x(), T=2), ValueError, "model",
          main=True),
    _case("mc_samples-p-one", lambda: predict.mc_samples(_net(drop=1.0), _x(), T=2), ValueError, "model.2"),
    _case("mc_samples-not-a-model", lambda: predict.mc_samples("net", _x(), T=2), TypeError, "model"),
    _case("mc_samples-dropout2d-on-vectors", lambda: predict.mc_samples(nn.Sequential(nn.Dropout2d(0.1)), _x(), T=2),
          ValueError, "model.0"),
    _case("mc_samples-seed-negative", lambda: predict.mc_samples(_net(), _x(), T=2, seed=-1), ValueError, "seed"),
    _case("mc_samples-seed-str", lambda: predict.mc_samples(_net(), _x(), T=2, seed="abc"), TypeError, "seed"),
    _case("mc_samples-masks", lambda: predict.mc_samples(_net(), _x(), T=2, masks="per-layer"), ValueError, "masks"),
    _case("mc_samples-chunk_size", lambda: predict.mc_samples(_net(), _x(), T=2, chunk_size=0), ValueError,
          "chunk_size", main=True),
    _case("moments-tau-zero", lambda: predict.regression_moments(torch.zeros(3, 2), 0.0), ValueError, "tau", main=True),
    _case("moments-tau-nan", lambda: predict.regression_moments(torch.zeros(3, 2), NAN), ValueError, "tau", main=True),
    _case("moments-samples-bool", lambda: predict.regression_moments(torch.ones(3, 2, dtype=torch.bool), 1.0),
          TypeError, "samples"),
    _case("moments-samples-nan", lambda: predict.regression_moments(torch.full((3, 2), NAN), 1.0), ValueError,
          "samples", main=True),
    _case("moments-samples-empty", lambda: predict.regression_moments(torch.zeros(0, 2), 1.0), ValueError, "samples"),
    _case("moments-samples-1d", lambda: predict.regression_moments(torch.zeros(3), 1.0), ValueError, "samples",
          main=True),
    _case("loglik-y-nan", lambda: predict.regression_log_likelihood(torch.zeros(3, 2), [0.0, NAN], 1.0), ValueError,
          "y"),
    _case("loglik-y-inf", lambda: predict.regression_log_likelihood(torch.zeros(3, 2), [0.0, INF], 1.0), ValueError,
          "y"),
    _case("loglik-y-shape", lambda: predict.regression_log_likelihood(torch.zeros(3, 2), [0.0], 1.0), ValueError, "y",
          main=True),
    _case("covariance-samples-3d", lambda: predict.predictive_covariance(torch.zeros(3, 2, 1), 1.0), ValueError,
          "samples"),
    _case("covariance-tau", lambda: predict.predictive_covariance(torch.zeros(3, 2), -1.0), ValueError, "tau"),
    _case("uncertainty-T-zero", lambda: predict.classification_uncertainty(torch.zeros(0, 2, 3)), ValueError,
          "prob_samples"),
    _case("uncertainty-not-normalised", lambda: predict.classification_uncertainty(torch.full((2, 3, 4), 0.3)),
          ValueError, "prob_samples", main=True),
    _case("uncertainty-int", lambda: predict.classification_uncertainty(torch.ones(2, 3, 1, dtype=torch.long)),
          TypeError, "prob_samples"),
    _case("select_tau-empty-grid", lambda: predict.select_tau(np.zeros((3, 2)), np.zeros(2), []), ValueError,
          "tau_grid", main=True),
    _case("select_tau-negative-entry", lambda: predict.select_tau(np.zeros((3, 2)), np.zeros(2), [1.0, -1.0]),
          ValueError, "tau_grid[1]"),
    _case("select_tau-nan-entry", lambda: predict.select_tau(np.zeros((3, 2)), np.zeros(2), [1.0, NAN]),
          ValueError, "tau_grid"),
    # gp -----------------------------------------------------------------------------------------
    _case("se_kernel-lengthscale", lambda: gp.se_kernel(np.zeros((2, 1)), np.zeros((2, 1)), lengthscale=0.0),
          ValueError, "lengthscale", main=True),
    _case("se_kernel-variance-nan", lambda: gp.se_kernel(np.zeros((2, 1)), np.zeros((2, 1)), variance=NAN),
          ValueError, "variance", main=True),
    _case("se_kernel-A-1d", lambda: gp.se_kernel(np.zeros(2), np.zeros((2, 1))), ValueError, "A", main=True),
    _case("se_kernel-B-nan", lambda: gp.se_kernel(np.zeros((2, 1)), [[NAN]]), ValueError, "B", main=True),
    _case("se_kernel-columns", lambda: gp.se_kernel(np.zeros((2, 1)), np.zeros((2, 2))), ValueError, "B", main=True),
    _case("posterior-noise", lambda: gp.posterior(np.zeros((2, 1)), np.zeros(2), np.zeros((1, 1)), gp.se_kernel, 0.0),
          ValueError, "noise_variance", main=True),
    _case("posterior-kernel", lambda: gp.posterior(np.zeros((2, 1)), np.zeros(2), np.zeros((1, 1)), "se", 0.1),
          TypeError, "kernel"),
    _case("posterior-empty", lambda: gp.posterior(np.zeros((0, 1)), np.zeros(0), np.zeros((1, 1)), gp.se_kernel, 0.1),
          ValueError, "X"),
    _case("lml-y-length", lambda: gp.log_marginal_likelihood(np.zeros((3, 1)), np.zeros(2), gp.se_kernel, 0.1),
          ValueError, "y", main=True),
    _case("sample_prior-n_draws", lambda: gp.sample_prior(np.zeros((2, 1)), gp.se_kernel, 0), ValueError, "n_draws"),
    _case("sample_prior-jitter-nan", lambda: gp.sample_prior(np.zeros((2, 1)), gp.se_kernel, 1, jitter=NAN),
          ValueError, "jitter"),
    _case("sample_prior-jitter-negative", lambda: gp.sample_prior(np.zeros((2, 1)), gp.se_kernel, 1, jitter=-1.0),
          ValueError, "jitter"),
    _case("sample_prior-seed", lambda: gp.sample_prior(np.zeros((2, 1)), gp.se_kernel, 1, seed=-1), ValueError, "seed"),
    _case("fit_se-init-length", lambda: gp.fit_se_hyperparameters(np.zeros((3, 1)), np.zeros(3), init=(1.0, 1.0)),
          ValueError, "init"),
    _case("fit_se-n_restarts", lambda: gp.fit_se_hyperparameters(np.zeros((3, 1)), np.zeros(3), n_restarts=0),
          ValueError, "n_restarts", main=True),
    _case("time_posterior-sizes", lambda: gp.time_posterior([]), ValueError, "sizes"),
    _case("time_posterior-repeats", lambda: gp.time_posterior([5], repeats=0), ValueError, "repeats", main=True),
    # network_kernels ----------------------------------------------------------------------------
    _case("relu-A-nan", lambda: network_kernels.relu_network_kernel([[NAN]], [[0.0]]), ValueError, "A", main=True),
    _case("relu-weight_var", lambda: network_kernels.relu_network_kernel([[0.0]], [[0.0]], weight_var=0.0),
          ValueError, "weight_var", main=True),
    _case("erf-bias_var-nan", lambda: network_kernels.erf_network_kernel([[0.0]], [[0.0]], bias_var=NAN), ValueError,
          "bias_var", main=True),
    _case("erf-columns", lambda: network_kernels.erf_network_kernel([[0.0]], [[0.0, 1.0]]), ValueError, "B",
          main=True),
    _case("mc-activation", lambda: network_kernels.network_kernel_mc([[0.0]], [[0.0]], 5, "sigmoid"), ValueError,
          "activation", main=True),
    _case("mc-n_units", lambda: network_kernels.network_kernel_mc([[0.0]], [[0.0]], 0), ValueError, "n_units",
          main=True),
    _case("mc-seed", lambda: network_kernels.network_kernel_mc([[0.0]], [[0.0]], 5, seed="abc"), TypeError, "seed"),
    # metrics ------------------------------------------------------------------------------------
    _case("auroc-three-classes", lambda: metrics.auroc([0.1, 0.2, 0.3], [0, 1, 2]), ValueError, "is_positive"),
    _case("auroc-probabilities", lambda: metrics.auroc([0.1, 0.2], [0.3, 0.7]), ValueError, "is_positive"),
    _case("auroc-one-class", lambda: metrics.auroc([0.1, 0.2], [1, 1]), ValueError, "is_positive", main=True),
    _case("auroc-empty", lambda: metrics.auroc([], []), ValueError, "scores"),
    _case("auroc-length", lambda: metrics.auroc([0.1, 0.2, 0.3], [0, 1]), ValueError, "is_positive", main=True),
    _case("brier-empty", lambda: metrics.brier_score(np.zeros((0, 2)), np.zeros(0, dtype=int)), ValueError, "probs"),
    _case("ece-empty", lambda: metrics.expected_calibration_error(np.zeros((0, 2)), np.zeros(0, dtype=int)),
          ValueError, "probs"),
    _case("ece-n_bins", lambda: metrics.expected_calibration_error(_probs(), np.zeros(4, dtype=int), n_bins=0),
          ValueError, "n_bins", main=True),
    _case("nll-float-labels", lambda: metrics.negative_log_likelihood(_probs(), np.zeros(4)), ValueError, "labels",
          main=True),
    _case("nll-label-range", lambda: metrics.negative_log_likelihood(_probs(), np.full(4, 2)), ValueError, "labels",
          main=True),
    _case("brier-not-normalised", lambda: metrics.brier_score(np.full((4, 2), 0.3), np.zeros(4, dtype=int)),
          ValueError, "probs", main=True),
    # calibration --------------------------------------------------------------------------------
    _case("coverage-empty", lambda: calibration.interval_coverage([], [], []), ValueError, "mean"),
    _case("coverage-std", lambda: calibration.interval_coverage([0.0], [0.0], [0.0]), ValueError, "std", main=True),
    _case("coverage-levels", lambda: calibration.interval_coverage([0.0], [1.0], [0.0], levels=[1.5]), ValueError,
          "levels", main=True),
    _case("coverage-levels-empty", lambda: calibration.interval_coverage([0.0], [1.0], [0.0], levels=[]), ValueError,
          "levels"),
    _case("quantile_bins-values-nan", lambda: calibration.quantile_bins([NAN, 0.0], 2), ValueError, "values"),
    _case("quantile_bins-n_bins-zero", lambda: calibration.quantile_bins([0.0, 1.0], 0), ValueError, "n_bins"),
    _case("quantile_bins-n_bins-str", lambda: calibration.quantile_bins([0.0, 1.0], "2"), TypeError, "n_bins"),
    _case("gaussian_ll-y-length", lambda: calibration.gaussian_log_likelihood([0.0], [1.0], [0.0, 1.0]), ValueError,
          "y", main=True),
    _case("gaussian_ll-mean-nan", lambda: calibration.gaussian_log_likelihood([NAN], [1.0], [0.0]), ValueError,
          "mean", main=True),
    # adversarial --------------------------------------------------------------------------------
    _case("fgsm-x-nan", lambda: adversarial.fgsm(_net(), _x(fill=NAN), _labels(), 0.1), ValueError, "x"),
    _case("fgsm-eps-inf", lambda: adversarial.fgsm(_net(), _x(), _labels(), INF), ValueError, "eps"),
    _case("fgsm-eps-negative", lambda: adversarial.fgsm(_net(), _x(), _labels(), -0.1), ValueError, "eps", main=True),
    _case("fgsm-eps-str", lambda: adversarial.fgsm(_net(), _x(), _labels(), "0.1"), TypeError, "eps"),
    _case("fgsm-clip-short", lambda: adversarial.fgsm(_net(), _x(), _labels(), 0.1, clip=(0,)), ValueError, "clip"),
    _case("fgsm-clip-order", lambda: adversarial.fgsm(_net(), _x(), _labels(), 0.1, clip=(1.0, 0.0)), ValueError,
          "clip", main=True),
    _case("fgsm-y-float", lambda: adversarial.fgsm(_net(), _x(), torch.zeros(4), 0.1), TypeError, "y"),
    _case("fgsm-y-length", lambda: adversarial.fgsm(_net(), _x(), _labels(3), 0.1), ValueError, "y", main=True),
    _case("fgsm-x-float64", lambda: adversarial.fgsm(_net(), _x(dtype=torch.float64), _labels(), 0.1), TypeError, "x"),
    _case("fgsm_mc-T", lambda: adversarial.fgsm_mc(_net(), _x(), _labels(), 0.1, T=0), ValueError, "T", main=True),
    # digits -------------------------------------------------------------------------------------
    _case("rotate-uint8", lambda: digits.rotate(_image(torch.uint8), [0.0]), TypeError, "image"),
    _case("rotate-shape", lambda: digits.rotate(torch.zeros(8, 8), [0.0]), ValueError, "image", main=True),
    _case("rotate-range", lambda: digits.rotate(_image() * 16, [0.0]), ValueError, "image"),
    _case("rotate-angles-nan", lambda: digits.rotate(_image(), [NAN]), ValueError, "angles", main=True),
    _case("rotate-angles-empty", lambda: digits.rotate(_image(), []), ValueError, "angles"),
    _case("digit_splits-fraction", lambda: digits.load_digit_splits(test_fraction=1.5), ValueError, "test_fraction",
          main=True),
    _case("digit_splits-seed", lambda: digits.load_digit_splits(seed=-1), ValueError, "seed"),
    # dropout ------------------------------------------------------------------------------------
    _case("effective_weight-drop_prob", lambda: dropout.effective_weight(torch.ones(2, 3), torch.ones(3), 1.2),
          ValueError, "drop_prob", main=True),
    _case("effective_weight-mask-values", lambda: dropout.effective_weight(torch.ones(2, 3), torch.full((3,), 0.5), 0.1),
          ValueError, "mask"),
    _case("effective_weight-mask-shape", lambda: dropout.effective_weight(torch.ones(2, 3), torch.ones(2), 0.1),
          ValueError, "mask", main=True),
    _case("mask_probabilities-non-binary", lambda: dropout.mask_probabilities(torch.tensor([[0.0, 0.5]]), 0.5),
          ValueError, "masks"),
    _case("mask_probabilities-keep_prob", lambda: dropout.mask_probabilities(dropout.enumerate_masks(2), 1.0),
          ValueError, "keep_prob", main=True),
    _case("enumerate_masks-too-many", lambda: dropout.enumerate_masks(21), ValueError, "n_units", main=True),
    _case("fixed_mask-no-dropout", lambda: dropout.fixed_mask(nn.Linear(2, 2), torch.ones(2)).__enter__(), ValueError,
          "model", main=True),
    _case("all_masks-n_units", lambda: dropout.outputs_for_all_masks(_net(), _x(), n_units=3), ValueError, "n_units"),
    _case("all_masks-no-dropout", lambda: dropout.outputs_for_all_masks(nn.Linear(3, 1), _x(), n_units=3), ValueError,
          "model"),
    _case("weight_rows-sigma", lambda: dropout.sample_weight_rows(np.zeros(2), 0.5, 0.0, 10), ValueError, "sigma",
          main=True),
    _case("weight_rows-seed", lambda: dropout.sample_weight_rows(np.zeros(2), 0.5, 1.0, 10, seed="abc"), TypeError,
          "seed"),
    _case("marginal_density-w-nan", lambda: dropout.weight_marginal_density([NAN], 0.0, 0.5, 1.0), ValueError, "w"),
    _case("marginal_density-mean-nan", lambda: dropout.weight_marginal_density([0.0], NAN, 0.5, 1.0), ValueError,
          "mean"),
    # vi -----------------------------------------------------------------------------------------
    _case("blr_posterior-noise_variance", lambda: vi.blr_posterior(*_phi(), 1.0, 0.0), ValueError, "noise_variance"),
    _case("blr_evidence-prior_var-nan", lambda: vi.blr_log_evidence(*_phi(), NAN, 1.0), ValueError, "prior_var",
          main=True),
    _case("blr-Phi-1d", lambda: vi.blr_posterior(np.zeros(10), np.zeros(10), 1.0, 1.0), ValueError, "Phi", main=True),
    _case("minibatch-batch_size", lambda: vi.minibatch_estimates(np.zeros(5), 6, 10), ValueError, "batch_size",
          main=True),
    _case("minibatch-seed", lambda: vi.minibatch_estimates(np.zeros(5), 2, 10, seed=-1), ValueError, "seed"),
    _case("fit_vi-seed", lambda: vi.fit_gaussian_vi(*_phi(), 1.0, 1.0, n_steps=2, seed="abc"), TypeError, "seed"),
    _case("fit_vi-lr", lambda: vi.fit_gaussian_vi(*_phi(), 1.0, 1.0, lr=0.0), ValueError, "lr", main=True),
    _case("elbo-q_cov", lambda: vi.gaussian_elbo(np.zeros(2), -np.eye(2), *_phi(), 1.0, 1.0), ValueError, "q_cov",
          main=True),
    _case("pathwise-mu-nan", lambda: vi.pathwise_gradient(np.sin, NAN, 1.0, 10), ValueError, "mu", main=True),
    _case("score-n_samples", lambda: vi.score_function_gradient(np.sin, 0.0, 1.0, 0), ValueError, "n_samples",
          main=True),
    # datasets -----------------------------------------------------------------------------------
    _case("load_co2-split", lambda: datasets.load_co2("validation"), ValueError, "split", main=True),
    _case("paper_file-folder", lambda: datasets.paper_file("mnist", "train"), ValueError, "folder"),
    # benchmark ----------------------------------------------------------------------------------
    _case("train_mode_predict_mc-T", lambda: benchmark.train_mode_predict_mc(_net(), _x(), 0), ValueError, "T"),
    _case("train_mode_predict_mc-x", lambda: benchmark.train_mode_predict_mc(_net(), np.zeros((4, 3)), 2), TypeError,
          "x"),
    _case("time_mc_prediction-repeats", lambda: benchmark.time_mc_prediction(_net(), _x(), 2, repeats=0), ValueError,
          "repeats", main=True),
    _case("time_mc_prediction-seed", lambda: benchmark.time_mc_prediction(_net(), _x(), 2, seed=-1), ValueError,
          "seed"),
    # kl (owned elsewhere; these already raise on main) -----------------------------------------
    _case("gaussian_kl-mu_q-nan", lambda: kl.gaussian_kl([NAN], [[1.0]], [0.0], [[1.0]]), ValueError, "mu_q",
          main=True),
    _case("gaussian_kl-cov_p", lambda: kl.gaussian_kl([0.0], [[1.0]], [0.0], [[-1.0]]), ValueError, "cov_p",
          main=True),
    _case("mixture_kl-weights", lambda: kl.mixture_kl_limit([0.5, 0.6], np.zeros((2, 1)), np.ones((2, 1, 1))),
          ValueError, "weights", main=True),
    _case("row_kl-m-numpy", lambda: kl.dropout_row_kl_mc(np.zeros(3), 0.5, 1.0, 10), TypeError, "m", main=True),
    _case("row_kl-keep_prob", lambda: kl.dropout_row_kl_mc(torch.zeros(3), 0.0, 1.0, 10), ValueError, "keep_prob",
          main=True),
    _case("optimizer_weight_decay-loss", lambda: kl.optimizer_weight_decay(1.0, 0.1, 10, 1.0, loss="l1"), ValueError,
          "loss", main=True),
    _case("optimizer_weight_decay-tau", lambda: kl.optimizer_weight_decay(1.0, 0.1, 10, NAN), ValueError, "tau",
          main=True),
    # training (owned elsewhere; these already raise on main) -----------------------------------
    _case("fit_regressor-X-nan", lambda: training.fit_regressor([[NAN]], [0.0]), ValueError, "X", main=True),
    _case("fit_regressor-y-length", lambda: training.fit_regressor(np.zeros((3, 1)), np.zeros(2)), ValueError, "y",
          main=True),
    _case("fit_regressor-n_epochs", lambda: training.fit_regressor(np.zeros((3, 1)), np.zeros(3), n_epochs=0),
          ValueError, "n_epochs", main=True),
    _case("fit_regressor-empty", lambda: training.fit_regressor(np.zeros((0, 1)), np.zeros(0)), ValueError, "X"),
    _case("fit_classifier-X-numpy", lambda: training.fit_classifier(_net(), np.zeros((4, 3)), _labels()), TypeError,
          "X", main=True),
    _case("fit_classifier-lr", lambda: training.fit_classifier(_net(), _x(), _labels(), lr=-1.0), ValueError, "lr",
          main=True),
    # estimator (owned elsewhere; these already raise on main) ----------------------------------
    _case("estimator-tau", lambda: MCDropoutRegressor(tau=-1.0).fit(np.zeros((4, 1)), np.zeros(4)), ValueError,
          "tau", main=True),
    _case("estimator-X-nan", lambda: MCDropoutRegressor(tau=1.0).fit([[NAN]] * 4, np.zeros(4)), ValueError, "X",
          main=True),
    _case("estimator-y-inf", lambda: MCDropoutRegressor(tau=1.0).fit(np.zeros((4, 1)), [0.0, INF, 0.0, 0.0]),
          ValueError, "y", main=True),
    # co2 (owned elsewhere; these already raise on main) ----------------------------------------
    _case("std_growth-length", lambda: co2.std_growth([1.0, 1.0], [0.0, 1.0, 2.0], 0.0, 2.0), ValueError, "std",
          main=True),
    _case("std_growth-x-nan", lambda: co2.std_growth([1.0, 1.0], [0.0, NAN], 0.0, 2.0), ValueError, "x", main=True),
    # models (owned elsewhere; these already raise on main) -------------------------------------
    _case("MLP-in_features", lambda: models.MLP(0), ValueError, "in_features", main=True),
    _case("MLP-drop_prob", lambda: models.MLP(2, drop_prob=1.5), ValueError, "drop_prob", main=True),
    _case("MLP-activation", lambda: models.MLP(2, activation="sigmoid"), ValueError, "activation", main=True),
    _case("DigitsCNN-n_classes", lambda: models.DigitsCNN(n_classes=0), ValueError, "n_classes", main=True),
]


@pytest.mark.parametrize("call,exc,name", CASES)
def test_bad_input_raises_and_names_the_argument(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) in (ValueError, TypeError) or issubclass(type(info.value), (ValueError, TypeError))
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", str(info.value)), str(info.value)


def test_the_table_covers_every_public_module():
    ids = [case.id for case in CASES]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)


def test_unusual_but_valid_inputs_are_accepted():
    net, x, y = _net(), _x(), _labels()
    assert adversarial.fgsm(net, x, y, np.float32(0.1)).shape == x.shape
    assert adversarial.fgsm(net, x, y, 0).shape == x.shape  # an int eps of 0 is a no-op attack
    torch.testing.assert_close(adversarial.fgsm(net, x, y, 0), x)
    samples = predict.mc_samples(net, x, T=np.int64(3), seed=np.int64(4))
    torch.testing.assert_close(samples, predict.mc_samples(net, x, T=3, seed=4))
    np.testing.assert_array_equal(gp.sample_prior(np.zeros((2, 1)), gp.se_kernel, 2, seed=np.random.default_rng(1),
                                                  jitter=0.1),
                                  gp.sample_prior(np.zeros((2, 1)), gp.se_kernel, 2, seed=np.random.default_rng(1),
                                                  jitter=0.1))
    mean, var = predict.regression_moments(np.arange(6).reshape(3, 2), 1.0)  # integer samples are numbers
    np.testing.assert_allclose(var.numpy(), np.var(np.arange(6).reshape(3, 2), axis=0) + 1.0)
