"""Random-feature estimates of the network kernel converge to their closed forms like 1/√K."""

import numpy as np
import pytest
from scipy import integrate, special

from mcdrop import network_kernels as nk

POINTS = np.array([[-1.0], [0.3], [1.5]])


@pytest.mark.parametrize("x,y", [(0.4, -0.9), (1.2, 1.2)])
def test_relu_closed_form_matches_quadrature(x, y):
    # E[relu(u) relu(v)] with w, b ~ N(0, 1): integrate over (w, b) directly.
    def integrand(w, b):
        density = np.exp(-(w**2 + b**2) / 2) / (2 * np.pi)
        return max(w * x + b, 0) * max(w * y + b, 0) * density

    value, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-10)
    assert nk.relu_network_kernel([[x]], [[y]])[0, 0] == pytest.approx(value, rel=1e-5)


def test_erf_closed_form_matches_quadrature():
    x, y = 0.7, -0.2

    def integrand(w, b):
        density = np.exp(-(w**2 + b**2) / 2) / (2 * np.pi)
        return special.erf(w * x + b) * special.erf(w * y + b) * density

    value, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-10)
    assert nk.erf_network_kernel([[x]], [[y]])[0, 0] == pytest.approx(value, rel=1e-5)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_monte_carlo_error_falls_like_inverse_root_k(activation):
    exact = {"relu": nk.relu_network_kernel, "erf": nk.erf_network_kernel}[activation](POINTS, POINTS)
    sizes = np.array([100, 400, 1600, 6400])
    rms = [
        np.sqrt(np.mean([np.mean((nk.network_kernel_mc(POINTS, POINTS, k, activation, seed=s) - exact) ** 2)
                         for s in range(40)]))
        for k in sizes
    ]
    slope = np.polyfit(np.log(sizes), np.log(rms), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_units"):
        nk.network_kernel_mc(POINTS, POINTS, 0)
    with pytest.raises(ValueError, match="activation"):
        nk.network_kernel_mc(POINTS, POINTS, 10, activation="tanh")
    with pytest.raises(ValueError, match="weight_var"):
        nk.relu_network_kernel(POINTS, POINTS, weight_var=-1.0)


def _mp_reference(a, b, activation, weight_var=1.0, bias_var=1.0):
    """The closed forms evaluated in 60-digit arithmetic from the textbook (cancelling) formulas."""
    import mpmath

    mpmath.mp.dps = 60
    a, b = [mpmath.mpf(float(v)) for v in a], [mpmath.mpf(float(v)) for v in b]
    s_a = weight_var * sum(v * v for v in a) + bias_var
    s_b = weight_var * sum(v * v for v in b) + bias_var
    c = weight_var * sum(u * v for u, v in zip(a, b)) + bias_var
    if activation == "relu":
        theta = mpmath.acos(c / mpmath.sqrt(s_a * s_b))
        return float(mpmath.sqrt(s_a * s_b) / (2 * mpmath.pi) * (mpmath.sin(theta) + (mpmath.pi - theta) * mpmath.cos(theta)))
    return float(2 / mpmath.pi * mpmath.asin(2 * c / mpmath.sqrt((1 + 2 * s_a) * (1 + 2 * s_b))))


@pytest.mark.parametrize("offset", [0.0, 1e3, 1e8])
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_closed_forms_match_high_precision_far_from_the_origin(offset, activation):
    rng = np.random.default_rng(4)
    A = offset + rng.normal(size=(3, 2))
    B = np.vstack([A[:1], offset + rng.normal(size=(2, 2))])  # includes a == b exactly
    fn = nk.relu_network_kernel if activation == "relu" else nk.erf_network_kernel
    ours = fn(A, B, weight_var=0.7, bias_var=0.3)
    reference = np.array([[_mp_reference(a, b, activation, 0.7, 0.3) for b in B] for a in A])
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


def test_relu_kernel_far_beyond_float64_squares():
    A = np.array([[1e200, -1e200]])
    # θ = 0 for a = b: K = s/2 with s = 2e400: not representable, so the kernel says so
    with pytest.raises(ValueError, match="overflows float64"):
        nk.relu_network_kernel(A, A)
    assert nk.erf_network_kernel(A, A)[0, 0] == pytest.approx(2 / np.pi * np.arcsin(1.0), rel=1e-15)
