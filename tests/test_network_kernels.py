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
