"""mcdrop.kl: closed forms against quadrature and Monte Carlo; Prop. 1; the weight-decay conventions."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from mcdrop import kl


def _random_spd(rng, k):
    a = rng.normal(size=(k, k))
    return a @ a.T / k + 0.5 * np.eye(k)


def test_gaussian_kl_against_monte_carlo():
    rng = np.random.default_rng(0)
    mq, mp = rng.normal(size=3), rng.normal(size=3)
    Sq, Sp = _random_spd(rng, 3), _random_spd(rng, 3)
    x = rng.multivariate_normal(mq, Sq, size=400_000)
    log_ratio = stats.multivariate_normal(mq, Sq).logpdf(x) - stats.multivariate_normal(mp, Sp).logpdf(x)
    se = log_ratio.std() / np.sqrt(len(x))
    assert kl.gaussian_kl(mq, Sq, mp, Sp) == pytest.approx(log_ratio.mean(), abs=4 * se)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6))
def test_gaussian_kl_is_nonnegative_and_zero_on_itself(seed, k):
    rng = np.random.default_rng(seed)
    m, S = rng.normal(size=k), _random_spd(rng, k)
    assert kl.gaussian_kl(m, S, m, S) == pytest.approx(0.0, abs=1e-10)
    assert kl.gaussian_kl(m, S, rng.normal(size=k), _random_spd(rng, k)) >= -1e-12


def test_mixture_kl_mc_matches_quadrature_in_one_dimension():
    weights, means, covs = np.array([0.3, 0.7]), np.array([[1.5], [-0.5]]), np.array([[[0.4]], [[0.2]]])

    def integrand(x):
        q = sum(w * stats.norm.pdf(x, m[0], np.sqrt(c[0, 0])) for w, m, c in zip(weights, means, covs))
        return q * (np.log(q) - stats.norm.logpdf(x))

    exact, _ = integrate.quad(integrand, -12, 12, limit=200)
    estimate, se = kl.mixture_kl_mc(weights, means, covs, 100_000, seed=1)
    assert abs(estimate - exact) < 4 * se


def test_single_component_mixture_is_a_gaussian():
    rng = np.random.default_rng(2)
    m, S = rng.normal(size=4), _random_spd(rng, 4)
    estimate, se = kl.mixture_kl_mc([1.0], m[None], S[None], 50_000, seed=3)
    assert estimate == pytest.approx(kl.gaussian_kl(m, S, np.zeros(4), np.eye(4)), abs=4 * se)
    assert kl.mixture_kl_limit([1.0], m[None], S[None]) == pytest.approx(kl.gaussian_kl(m, S, np.zeros(4), np.eye(4)))


def _dropout_row(k, keep_prob=0.8, sigma=0.5, seed=0):
    return kl.dropout_row_mixture(np.random.default_rng(seed).normal(size=k), keep_prob, sigma)


def test_proposition_one_limit_becomes_exact_as_k_grows():
    """For small K the components overlap and the limit misses by many standard errors;
    for large K the Monte Carlo KL agrees with it to within its standard error."""
    gaps = {}
    for k in (1, 3, 100, 1000):
        args = _dropout_row(k)
        estimate, se = kl.mixture_kl_mc(*args, 4000, seed=k)
        gaps[k] = (estimate - kl.mixture_kl_limit(*args)) / se
    assert gaps[1] > 10 and gaps[3] > 10
    assert abs(gaps[100]) < 4 and abs(gaps[1000]) < 4


def test_printed_form_differs_from_limit_by_a_constant():
    for k in (5, 50):
        weights, means, covs = _dropout_row(k)
        constant = k / 2 * np.log(2 * np.pi) - stats.entropy(weights)
        for scale in (0.5, 2.0):
            gap = kl.mixture_kl_limit(weights, scale * means, covs) - kl.proposition_one_printed(weights, scale * means, covs)
            assert gap == pytest.approx(constant, rel=1e-12)


def test_dropout_row_kl_gradient_is_keep_prob_times_mean():
    keep_prob = 0.9
    m = torch.tensor(np.random.default_rng(4).normal(size=200), requires_grad=True)
    kl.dropout_row_kl_mc(m, keep_prob, sigma=0.05, n_samples=20_000, seed=5).backward()
    expected = keep_prob * m.detach()
    relative_error = torch.linalg.norm(m.grad - expected) / torch.linalg.norm(expected)
    assert relative_error < 0.02


def test_dropout_row_kl_mc_matches_numpy_estimator():
    weights, means, covs = _dropout_row(30, keep_prob=0.7, sigma=0.3)
    torch_value = kl.dropout_row_kl_mc(torch.tensor(means[0]), 0.7, 0.3, 40_000, seed=6).item()
    estimate, se = kl.mixture_kl_mc(weights, means, covs, 40_000, seed=7)
    assert torch_value == pytest.approx(estimate, abs=5 * se * np.sqrt(2))


def test_weight_decay_formula_and_inverse():
    lam = kl.dropout_weight_decay(lengthscale=1e-2, drop_prob=0.1, n_data=500, tau=2.0)
    assert lam == pytest.approx(1e-4 * 0.9 / (2 * 500 * 2.0), rel=1e-15)
    assert kl.precision_from_weight_decay(1e-2, 0.1, 500, lam) == pytest.approx(2.0, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    lengthscale=st.floats(1e-3, 10), drop_prob=st.floats(0, 0.99), n_data=st.integers(1, 10**6), tau=st.floats(1e-3, 1e4)
)
def test_weight_decay_round_trip(lengthscale, drop_prob, n_data, tau):
    lam = kl.dropout_weight_decay(lengthscale, drop_prob, n_data, tau)
    assert kl.precision_from_weight_decay(lengthscale, drop_prob, n_data, lam) == pytest.approx(tau, rel=1e-9)


@pytest.mark.parametrize("drop_prob", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("loss,n_outputs", [("mse", 1), ("mse", 3), ("half_mse", 1), ("half_mse", 2)])
def test_optimizer_weight_decay_realises_the_paper_objective_for_stored_weights(loss, n_outputs, drop_prob):
    """One torch SGD step with the returned weight_decay moves the stored weights W = p·M along the
    gradient of the paper's objective (1/N)Σ½‖y − ŷ‖² + λ‖M‖², scaled by the loss's fixed factor."""
    torch.manual_seed(0)
    n, lengthscale, tau = 64, 0.5, 3.0
    keep = 1 - drop_prob
    x, y = torch.randn(n, 4, dtype=torch.float64), torch.randn(n, n_outputs, dtype=torch.float64)
    layer = torch.nn.Linear(4, n_outputs, bias=False).double()
    lam = kl.dropout_weight_decay(lengthscale, drop_prob, n, tau)
    W = layer.weight.detach().clone().requires_grad_(True)
    paper = 0.5 * ((y - x @ W.T) ** 2).sum() / n + lam * ((W / keep) ** 2).sum()
    paper.backward()
    mse = torch.nn.functional.mse_loss(layer(x), y)
    data_loss = mse if loss == "mse" else 0.5 * mse
    wd = kl.optimizer_weight_decay(lengthscale, drop_prob, n, tau, loss=loss, n_outputs=n_outputs)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0, weight_decay=wd)
    data_loss.backward()
    optimizer.step()
    scale = (2.0 if loss == "mse" else 1.0) / n_outputs
    torch.testing.assert_close(W.detach() - layer.weight.detach(), scale * W.grad)


@pytest.mark.parametrize("loss", ["mse", "half_mse"])
def test_official_convention_is_the_keras_objective(loss):
    """The official code minimises MSE + reg·‖W‖² with reg = p·l²/(2Nτ) on the stored weights."""
    torch.manual_seed(1)
    n, lengthscale, drop_prob, tau = 50, 0.1, 0.05, 0.5
    x, y = torch.randn(n, 3, dtype=torch.float64), torch.randn(n, 1, dtype=torch.float64)
    layer = torch.nn.Linear(3, 1, bias=False).double()
    reg = (1 - drop_prob) * lengthscale**2 / (2 * n * tau)
    W = layer.weight.detach().clone().requires_grad_(True)
    (((y - x @ W.T) ** 2).mean() + reg * (W**2).sum()).backward()
    mse = torch.nn.functional.mse_loss(layer(x), y)
    wd = kl.optimizer_weight_decay(lengthscale, drop_prob, n, tau, loss=loss, convention="official")
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0, weight_decay=wd)
    (mse if loss == "mse" else 0.5 * mse).backward()
    optimizer.step()
    torch.testing.assert_close(W.detach() - layer.weight.detach(), (1.0 if loss == "mse" else 0.5) * W.grad)


@settings(max_examples=50, deadline=None)
@given(lengthscale=st.floats(1e-3, 10), drop_prob=st.floats(0, 0.99), n_data=st.integers(1, 10**6),
       tau=st.floats(1e-3, 1e4), loss=st.sampled_from(["mse", "half_mse"]), n_outputs=st.integers(1, 4))
def test_precision_from_optimizer_weight_decay_inverts_the_pytorch_convention(lengthscale, drop_prob, n_data, tau,
                                                                              loss, n_outputs):
    wd = kl.optimizer_weight_decay(lengthscale, drop_prob, n_data, tau, loss=loss, n_outputs=n_outputs)
    implied = kl.precision_from_optimizer_weight_decay(lengthscale, drop_prob, n_data, wd, loss=loss, n_outputs=n_outputs)
    assert implied == pytest.approx(tau, rel=1e-9)


@pytest.mark.parametrize("drop_prob", [0.1, 0.5])
def test_implied_precision_of_the_old_and_official_factors(drop_prob):
    """The pre-fix code applied eq. (7)'s λ to W (torch wd 4λ with MSELoss): τ too large by 1/p².
    The official convention is p²/2 times weaker still than the pytorch one: τ too large by 2/p²."""
    lengthscale, n, tau, keep = 0.2, 300, 4.0, 1 - drop_prob
    old = 4 * kl.dropout_weight_decay(lengthscale, drop_prob, n, tau)
    official = kl.optimizer_weight_decay(lengthscale, drop_prob, n, tau, loss="mse", convention="official")
    assert kl.precision_from_optimizer_weight_decay(lengthscale, drop_prob, n, old) == pytest.approx(tau / keep**2)
    assert kl.precision_from_optimizer_weight_decay(lengthscale, drop_prob, n, official) == pytest.approx(2 * tau / keep**2)


def test_bias_weight_decay_is_eq4_bias_term():
    n, lengthscale, tau = 40, 0.3, 2.0
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (lengthscale**2 / (2 * n * tau) * (b**2).sum()).backward()
    wd = kl.bias_weight_decay(lengthscale, n, tau, loss="half_mse")
    torch.testing.assert_close(wd * b.detach(), b.grad)
    assert kl.bias_weight_decay(lengthscale, n, tau, loss="mse", n_outputs=2) == pytest.approx(wd)


def test_bad_arguments_are_named():
    eye = np.eye(2)
    with pytest.raises(ValueError, match="drop_prob"):
        kl.dropout_weight_decay(1.0, 1.2, 10, 1.0)
    with pytest.raises(ValueError, match="tau"):
        kl.dropout_weight_decay(1.0, 0.1, 10, 0.0)
    with pytest.raises(ValueError, match="n_data"):
        kl.dropout_weight_decay(1.0, 0.1, 0, 1.0)
    with pytest.raises(ValueError, match="weights"):
        kl.mixture_kl_limit([0.5, 0.6], np.zeros((2, 2)), np.stack([eye, eye]))
    with pytest.raises(ValueError, match="cov_q must be symmetric"):
        kl.gaussian_kl(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), eye)
    with pytest.raises(ValueError, match="cov_p must be positive definite"):
        kl.gaussian_kl(np.zeros(2), eye, np.zeros(2), -eye)
    with pytest.raises(ValueError, match="n_samples"):
        kl.mixture_kl_mc([1.0], np.zeros((1, 2)), eye[None], 0)
    with pytest.raises(ValueError, match="covs must have shape"):
        kl.mixture_kl_limit([1.0], np.zeros((1, 3)), eye[None])
    with pytest.raises(ValueError, match="loss"):
        kl.optimizer_weight_decay(1.0, 0.1, 10, 1.0, loss="l1")
    with pytest.raises(ValueError, match="convention"):
        kl.optimizer_weight_decay(1.0, 0.1, 10, 1.0, convention="keras")
    with pytest.raises(ValueError, match="tau"):
        kl.bias_weight_decay(1.0, 10, -1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        kl.precision_from_optimizer_weight_decay(1.0, 0.1, 10, 0.0)
    with pytest.raises(ValueError, match="loss"):
        kl.precision_from_optimizer_weight_decay(1.0, 0.1, 10, 1e-3, loss="l1")
