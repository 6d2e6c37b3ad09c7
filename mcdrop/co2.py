"""The Mauna Loa CO2 extrapolation of the paper's Figs 2–3 (chapter 7, "Extrapolating Mauna Loa CO2").

``CPU_SETTINGS`` are sized for two CPU cores. ``PAPER_SETTINGS`` are the size and batch of the
paper's official experiment files (four hidden layers of 1024 ReLU units, batches of 200) and as
many training examples as their 10⁶ iterations (735,294 epochs of 272 points), one argument away;
the official code used SGD with momentum and a decaying step size, both settings here use Adam.
:class:`ResumableFit` and :func:`grid_summary` serve the long, resumable run of
``benchmarks/co2_paper_fidelity.py`` whose stored panels :func:`load_long_run` reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.special import gammaln

from mcdrop import _checks, gp, training
from mcdrop._torch_state import preserved_modes, seeded_global_rng
from mcdrop.models import ACTIVATIONS
from mcdrop.training import FittedRegressor, RegressorSettings, fit_regressor


@dataclass(frozen=True)
class CO2Settings:
    """Architecture, training and sampling settings of the CO2 networks."""

    hidden_layer_sizes: tuple = (256, 256, 256, 256)
    drop_prob: float = 0.1
    n_epochs: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    lengthscale: float = 1e-2
    tau: float = 10.0
    T: int = 200

    def __post_init__(self):
        """Validate: the network and training fields as :class:`~mcdrop.training.RegressorSettings`
        does (each error names its field), then ``tau`` and ``T``."""
        object.__setattr__(self, "hidden_layer_sizes", self.regressor_settings().hidden_layer_sizes)
        _checks.positive("tau", self.tau)
        _checks.positive_int("T", self.T)

    def regressor_settings(self, activation: str = "relu") -> RegressorSettings:
        """The network and training fields as the settings of :func:`~mcdrop.training.fit_regressor`."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("tau", "T")}
        return RegressorSettings(**fields, activation=activation)


CPU_SETTINGS = CO2Settings()
PAPER_SETTINGS = CO2Settings(hidden_layer_sizes=(1024,) * 4, n_epochs=10**6 * 200 // 272, batch_size=200, T=1000)


def fit_network(X, y, activation: str, settings: CO2Settings = CPU_SETTINGS, seed=None,
                progress: bool = False) -> FittedRegressor:
    """Train one dropout network of Fig. 2 (``activation`` "relu" or "tanh")."""
    return fit_regressor(X, y, settings.regressor_settings(activation), tau=settings.tau, seed=seed,
                         progress=progress)


def fit_gp(X, y, seed=None):
    """The GP of Fig. 2b: SE kernel, hyper-parameters by marginal likelihood; returns
    ``(kernel, hyper)`` with ``hyper`` the dict of :func:`mcdrop.gp.fit_se_hyperparameters`."""
    hyper = gp.fit_se_hyperparameters(X, y, init=(0.05, 1.0, 0.01), n_restarts=4, seed=seed)

    def kernel(A, B):
        return gp.se_kernel(A, B, hyper["lengthscale"], hyper["variance"])

    return kernel, hyper


def std_growth(std, x, near: float, far: float, width: float = 0.1) -> float:
    """Ratio of the mean predictive std within ``width`` of ``far`` to that near ``near``: > 1
    when uncertainty keeps growing between the two, ≈ 1 when it has levelled off."""
    std = _checks.finite_array("std", std, ndim=1)
    if np.any(std <= 0):
        raise ValueError("std must be positive everywhere (a standard deviation of 0 gives no ratio)")
    x = _checks.finite_array("x", x, ndim=1)
    _checks.same_length("std", std, "x", x)
    near_mask, far_mask = np.abs(x - near) <= width, np.abs(x - far) <= width
    if not near_mask.any() or not far_mask.any():
        raise ValueError("x has no points within width of near or far")
    return float(std[far_mask].mean() / std[near_mask].mean())


def halves_rmse(x, prediction, y) -> tuple[float, float]:
    """RMSE of ``prediction`` against ``y`` on the left and the right half of the range of ``x``
    (split at its midpoint; a point on the midpoint counts to the right): where along the
    training data a Fig. 2 network fits the seasonal cycle (chapter 7)."""
    x = _checks.finite_array("x", x, ndim=1)
    prediction = _checks.finite_array("prediction", prediction, ndim=1)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("x", x, "prediction", prediction)
    _checks.same_length("x", x, "y", y)
    right = x >= (x.min() + x.max()) / 2
    if right.all():
        raise ValueError("x must span a range (all its values are equal)")
    squared = (prediction - y) ** 2
    return float(np.sqrt(squared[~right].mean())), float(np.sqrt(squared[right].mean()))


def variance_shares(x, y, period: float, harmonics: int = 2) -> tuple[float, float]:
    """Shares of the variance of ``y`` explained, in turn, by a quadratic trend in ``x`` and by a
    cycle of ``period`` (sines and cosines of ``period``/1, …, ``period``/``harmonics``) added to
    it: least-squares R² of the trend, then the cycle's gain in R² (chapter 7)."""
    x = _checks.finite_array("x", x, ndim=1)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("x", x, "y", y)
    period, harmonics = _checks.positive("period", period), _checks.positive_int("harmonics", harmonics)
    trend = np.column_stack([np.ones_like(x), x, x**2])
    angles = 2 * np.pi * np.outer(x, np.arange(1, harmonics + 1)) / period
    cycle = np.column_stack([trend, np.sin(angles), np.cos(angles)])
    if len(y) <= cycle.shape[1] or np.var(y) == 0:
        raise ValueError(f"y must vary and hold more than {cycle.shape[1]} points")

    def r_squared(design):
        residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return 1 - residual.var() / y.var()

    trend_share = r_squared(trend)
    return float(trend_share), float(r_squared(cycle) - trend_share)


def last_rise_slope(x, y) -> float:
    """Slope of the straight line from the last local minimum of ``y`` to the maximum that follows
    it (the end of the data if ``y`` rises to the end): the last seasonal rise of chapter 7."""
    x = _checks.finite_array("x", x, ndim=1)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("x", x, "y", y)
    minima = np.flatnonzero((y[1:-1] < y[:-2]) & (y[1:-1] <= y[2:])) + 1
    if len(minima) == 0:
        raise ValueError("y has no local minimum")
    start = minima[-1]
    falls = np.flatnonzero(np.diff(y[start:]) < 0)
    end = start + (falls[0] if len(falls) else len(y) - 1 - start)
    return float((y[end] - y[start]) / (x[end] - x[start]))


def flat_stretch_std(x, mean, std, quantile: float = 0.25) -> float:
    """Mean of ``std`` where the predictive mean is flattest, ``|d mean/dx|`` at or below its
    ``quantile``: the spread a network keeps where nothing turns (chapter 7)."""
    x = _checks.finite_array("x", x, ndim=1)
    mean = _checks.finite_array("mean", mean, ndim=1)
    std = _checks.finite_array("std", std, ndim=1)
    _checks.same_length("x", x, "mean", mean)
    _checks.same_length("x", x, "std", std)
    quantile = _checks.probability("quantile", quantile)
    if len(x) < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("x must hold at least 2 increasing points")
    steepness = np.abs(np.gradient(mean, x))
    return float(std[steepness <= np.quantile(steepness, quantile)].mean())


def distance_to_level(x, values, level: float, start: float) -> float:
    """How far beyond ``start`` the curve ``values`` on the increasing grid ``x`` first reaches
    ``level`` (``x`` of the first such point minus ``start``); ``inf`` if it never does. Chapter 7
    uses it for the distance past the data at which the GP's std reaches 99 % of its prior's."""
    x = _checks.finite_array("x", x, ndim=1)
    values = _checks.finite_array("values", values, ndim=1)
    _checks.same_length("x", x, "values", values)
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be increasing")
    reached = np.flatnonzero((x > start) & (values >= level))
    return float(x[reached[0]] - start) if len(reached) else float("inf")


def sample_std_bias(T: int, ddof: int = 0) -> float:
    """E[s]/σ for the standard deviation ``s`` of ``T`` independent Gaussian draws with divisor
    ``T − ddof``: ``c₄(T)·√((T−1)/(T−ddof))``, ``c₄(T) = √(2/(T−1))·Γ(T/2)/Γ((T−1)/2)``. With
    ``ddof = 0`` (the 1/T variance of the predictive variance, chapter 6) the variance is low by
    (T−1)/T and the std by this factor, ≈ 0.92 at T = 10 (chapter 7, Fig. 3)."""
    T = _checks.positive_int("T", T)
    if T < 2:
        raise ValueError(f"T must be >= 2 for a standard deviation, got {T}")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof!r}")
    c4 = np.sqrt(2 / (T - 1)) * np.exp(gammaln(T / 2) - gammaln((T - 1) / 2))
    return float(c4 * np.sqrt((T - 1) / (T - ddof)))


class ResumableFit:
    """Train one CO2 network of Fig. 2 in resumable chunks, for the long run behind the stored
    paper-fidelity panels of chapter 7 (``benchmarks/co2_paper_fidelity.py``).

    The objective and weight decay are those of :func:`~mcdrop.training.fit_regressor`
    (:func:`~mcdrop.training.regression_objective`: paper eq. (4) with the decay of paper eq. (7)
    on PyTorch's stored weights); the data files are already standardised, so the network sees ``X`` and ``y``
    as given. Adam's step size follows the paper's "inv" policy, ``lr·(1 + lr_decay·t)^(−1/4)``
    after ``t`` steps (``lr_decay = 0``: constant). :meth:`~mcdrop.co2.ResumableFit.state_dict` holds everything a resumed
    run needs to continue exactly where it stopped (model, optimiser, RNG, epoch, loss history).
    """

    def __init__(self, X, y, settings: CO2Settings, activation: str = "relu", seed: int = 0,
                 lr_decay: float = 0.0):
        X = _checks.finite_array("X", X, ndim=2)
        y = _checks.finite_array("y", y, ndim=1)
        _checks.same_length("X", X, "y", y)
        if lr_decay < 0 or not np.isfinite(lr_decay):
            raise ValueError(f"lr_decay must be a finite number >= 0, got {lr_decay}")
        self.settings, self.activation, self.seed, self.lr_decay = settings, activation, int(seed), float(lr_decay)
        s = settings.regressor_settings(activation)
        self.inputs = torch.as_tensor(X, dtype=torch.float32)
        self.targets = torch.as_tensor(y, dtype=torch.float32)[:, None]
        n = len(y)
        with seeded_global_rng(seed):
            self.model = training.build_model(X.shape[1], s)
            self.rng_state = torch.get_rng_state()
        groups, self.loss_fn = training.regression_objective(self.model, s, len(y), settings.tau)
        self.optimizer = torch.optim.Adam(groups, lr=s.lr)
        self.epoch, self.history, self.steps = 0, [], 0

    def train(self, n_epochs: int) -> None:
        """Run ``n_epochs`` more epochs (shuffled minibatches of ``settings.batch_size``)."""
        n_epochs = _checks.positive_int("n_epochs", n_epochs)
        n, size = len(self.inputs), self.settings.batch_size
        with torch.random.fork_rng():
            torch.set_rng_state(self.rng_state)
            self.model.train()
            for _ in range(n_epochs):
                order, total = torch.randperm(n), 0.0
                for start in range(0, n, size):
                    for group in self.optimizer.param_groups:
                        group["lr"] = self.settings.lr * (1 + self.lr_decay * self.steps) ** -0.25
                    batch = order[start:start + size]
                    loss = self.loss_fn(self.model(self.inputs[batch]), self.targets[batch])
                    self.optimizer.zero_grad()
                    loss.backward()
                    self.optimizer.step()
                    self.steps += 1
                    total += loss.item() * len(batch)
                self.history.append(total / n)
                self.epoch += 1
            self.model.eval()
            self.rng_state = torch.get_rng_state()

    def fitted(self) -> FittedRegressor:
        """The network as a :class:`~mcdrop.training.FittedRegressor` (identity standardisation)."""
        return FittedRegressor(self.model, np.zeros(1), np.ones(1), 0.0, 1.0, self.settings.tau,
                               np.asarray(self.history))

    def state_dict(self) -> dict:
        """Everything a resumed run needs: model, optimiser, RNG state, epoch, steps, loss history
        and the settings it was started with."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng_state": self.rng_state, "epoch": self.epoch, "steps": self.steps,
                "history": list(self.history), "settings": asdict(self.settings),
                "activation": self.activation, "seed": self.seed, "lr_decay": self.lr_decay}

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state``; refuses a state saved under other settings."""
        mine = {"settings": asdict(self.settings), "activation": self.activation, "seed": self.seed,
                "lr_decay": self.lr_decay}
        theirs = {key: state[key] for key in mine}
        theirs["settings"]["hidden_layer_sizes"] = tuple(theirs["settings"]["hidden_layer_sizes"])
        if theirs != mine:
            raise ValueError(f"state was saved under {theirs}, not {mine}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng_state = state["rng_state"]
        self.epoch, self.steps, self.history = state["epoch"], state["steps"], list(state["history"])


def long_run_settings(options: dict) -> CO2Settings:
    """The :class:`CO2Settings` of a long run from its command-line options (the ``settings`` of a
    stored result file): ``hidden``, ``drop_prob``, ``epochs``, ``batch_size``, ``lr``,
    ``lengthscale``, ``tau`` and ``T``."""
    return CO2Settings(hidden_layer_sizes=tuple(options["hidden"]), drop_prob=options["drop_prob"],
                       n_epochs=options["epochs"], batch_size=options["batch_size"], lr=options["lr"],
                       lengthscale=options["lengthscale"], tau=options["tau"], T=options["T"])


def grid_summary(fitted: FittedRegressor, X, T: int, seed=None) -> dict:
    """Mean and std of ``T`` MC dropout passes at ``X`` and the deterministic (weight-averaging)
    prediction, as float lists: the numbers a Fig. 2 panel draws."""
    samples = fitted.samples(X, T, seed=seed)
    columns = {"mc_mean": samples.mean(0), "mc_std": samples.std(0), "deterministic": fitted.deterministic(X)}
    return {name: np.round(values, 6).tolist() for name, values in columns.items()}


def dominant_period(x, y, oversample: int = 16) -> float:
    """Period, in the units of ``x``, of the strongest non-constant Fourier component of ``y``
    sampled on the evenly spaced ``x`` (periodogram zero-padded ``oversample`` times). Accurate to
    about a percent when ``x`` spans several periods; with only a few, the window's edges bias it."""
    x = _checks.finite_array("x", x, ndim=1)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("x", x, "y", y)
    oversample = _checks.positive_int("oversample", oversample)
    steps = np.diff(x)
    if len(x) < 4 or steps[0] <= 0 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise ValueError("x must hold at least 4 increasing, evenly spaced points")
    n_fft = oversample * len(y)
    power = np.abs(np.fft.rfft(y - y.mean(), n=n_fft)) ** 2
    frequencies = np.fft.rfftfreq(n_fft, d=steps[0])
    return float(1.0 / frequencies[1 + np.argmax(power[1:])])


RESULTS = Path(__file__).resolve().parents[1] / "results" / "co2"
_PANEL_COLUMNS = ("mc_mean", "mc_std", "deterministic")


def load_long_run(path) -> dict:
    """A result file of ``benchmarks/co2_paper_fidelity.py`` (stored Fig. 2 panels, chapter 7),
    with ``train``/``grid`` columns and ``grid_x`` as float arrays; refuses a file whose columns
    are missing or disagree in length."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {path} is not a file; run benchmarks/co2_paper_fidelity.py to produce it")
    run = json.loads(path.read_text())
    run["grid_x"] = np.asarray(run["grid_x"], dtype=float)
    for part, length in (("train", None), ("grid", len(run["grid_x"]))):
        if set(run[part]) != set(_PANEL_COLUMNS):
            raise ValueError(f"{path}: {part} must hold the columns {_PANEL_COLUMNS}, got {sorted(run[part])}")
        run[part] = {name: np.asarray(values, dtype=float) for name, values in run[part].items()}
        lengths = {len(values) for values in run[part].values()} | ({length} if length else set())
        if len(lengths) != 1:
            raise ValueError(f"{path}: the {part} columns disagree in length {sorted(lengths)}")
    return run


def hidden_activations(fitted: FittedRegressor, X) -> list[np.ndarray]:
    """Each hidden layer's activation (after the nonlinearity, dropout off) at ``X``: a list of
    (N, width) arrays, first hidden layer first. Used to measure TanH saturation (chapter 7)."""
    outputs = []
    hooks = [module.register_forward_hook(lambda module, inputs, output: outputs.append(output.double().numpy()))
             for module in fitted.model.net if isinstance(module, tuple(ACTIVATIONS.values()))]
    try:
        with preserved_modes(fitted.model), torch.no_grad():
            fitted.model.eval()(fitted.standardise_inputs(X))
    finally:
        for hook in hooks:
            hook.remove()
    return outputs
