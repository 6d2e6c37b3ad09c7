"""mcdrop.batched: M networks trained at once equal the same M trained one at a time."""

import math

import numpy as np
import pytest
import torch

from mcdrop import batched, predict


class RecordingSampler(batched.Sampler):
    """Remembers every batch order and uniform it hands out, for the one-at-a-time replay."""

    def __init__(self, groups):
        super().__init__(groups)
        self.order_log, self.uniform_log = [], []

    def orders(self, n_rows, n_max):
        self.order_log.append(super().orders(n_rows, n_max))
        return self.order_log[-1]

    def uniforms(self, shape):
        self.uniform_log.append(super().uniforms(shape))
        return self.uniform_log[-1].clone()  # the trainer turns it into masks in place


def _problem(sizes, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((n, n_features)) for n in sizes]
    y = [np.sin(x.sum(1)) + 0.1 * rng.standard_normal(len(x)) for x in X]
    return X, y


def _one_at_a_time(init, shapes, X, y, m, sampler, drop, wd, bd, n_epochs, batch_size):
    """Model m alone, with torch.nn.functional layers, torch's MSELoss and torch.optim.Adam, fed
    the recorded orders and masks (the uniforms of the first call are the initialisation)."""
    params, offset = [], 0
    for n_in, n_out in shapes:
        W = init[m, offset:offset + n_in * n_out].view(n_in, n_out).clone().requires_grad_()
        offset += n_in * n_out
        b = init[m, offset:offset + n_out].clone().requires_grad_()
        offset += n_out
        params.append((W, b))
    optimizer = torch.optim.Adam([{"params": [W], "weight_decay": wd[m]} for W, _ in params]
                                 + [{"params": [b for _, b in params], "weight_decay": bd[m]}], lr=1e-3)
    inputs = torch.tensor(X[m], dtype=torch.float32)
    targets = torch.tensor(y[m], dtype=torch.float32)
    n, keep, uniforms = len(X[m]), 1 - drop[m], iter(sampler.uniform_log[len(shapes):])
    for epoch in range(n_epochs):
        order = sampler.order_log[epoch][m, :n]
        for start in range(0, max(len(x) for x in X), batch_size):
            u = next(uniforms)[m]
            rows = order[start:start + batch_size]
            if len(rows) == 0:
                continue
            mask = torch.floor(u[:len(rows)] + keep) / keep
            h, col = inputs[rows], 0
            for i, (W, b) in enumerate(params):
                h = (h * mask[:, col:col + W.shape[0]]) @ W + b
                col += W.shape[0]
                h = torch.relu(h) if i < len(params) - 1 else h
            loss = torch.nn.functional.mse_loss(h[:, 0], targets[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return torch.cat([torch.cat([W.detach().reshape(-1), b.detach()]) for W, b in params])


@pytest.mark.parametrize("hidden", [(7,), (6, 5)])
def test_batched_equals_one_at_a_time(hidden):
    sizes = [23, 23, 17, 9]  # unequal: padding, partial last batches and waiting models
    X, y = _problem(sizes)
    drop, wd, bd = [0.05, 0.3, 0.1, 0.0], [1e-3, 0.0, 1e-2, 5e-2], [0.0, 1e-3, 0.0, 2e-2]
    generators = [(torch.Generator().manual_seed(s), 1) for s in range(4)]
    sampler = RecordingSampler(generators)
    model = batched.train(X, y, hidden_layer_sizes=hidden, drop_prob=drop, weight_decay=wd, bias_decay=bd,
                          n_epochs=6, batch_size=8, sampler=sampler)
    init = sampler.uniform_log  # the first len(shapes) draws made the initial weights
    shapes = batched._layer_shapes(3, hidden)
    replay = RecordingSampler([(torch.Generator().manual_seed(s), 1) for s in range(4)])
    start = batched.glorot_init(4, 3, hidden, replay)
    for m in range(4):
        alone = _one_at_a_time(start, shapes, X, y, m, sampler, drop, wd, bd, 6, 8)
        torch.testing.assert_close(model.flat[m], alone, rtol=1e-5, atol=2e-6)
    assert len(init) > len(shapes)
    assert not torch.allclose(model.flat, start)  # it trained


def test_a_model_does_not_depend_on_its_batch_mates():
    X, y = _problem([30, 30, 30])
    kwargs = dict(hidden_layer_sizes=(8,), drop_prob=0.1, weight_decay=1e-3, n_epochs=3, batch_size=16)
    together = batched.train(X, y, sampler=batched.seeded_sampler([(0, 0), (0, 1)], [2, 1]), **kwargs)
    alone = batched.train(X[2:], y[2:], sampler=batched.seeded_sampler([(0, 1)], [1]), **kwargs)
    torch.testing.assert_close(together.flat[2], alone.flat[0], rtol=1e-5, atol=1e-6)


def test_mc_statistics_match_mc_samples_moments_and_eq8():
    """Against an independent computation: T explicit passes with masks folded into the inputs."""
    X, y = _problem([12, 12], seed=1)
    model = batched.train(X, y, hidden_layer_sizes=(9,), drop_prob=[0.2, 0.05], weight_decay=1e-3, n_epochs=2,
                          batch_size=5, sampler=batched.seeded_sampler([0, 1], [1, 1]))
    T, taus = 300, np.array([[0.5, 4.0], [2.0, 1.0]])
    y_mean, y_scale = np.array([1.0, -2.0]), np.array([2.0, 0.5])
    y_orig = [v * s + mu + 0.3 for v, s, mu in zip(y, y_scale, y_mean)]
    sampler = batched.seeded_sampler([5, 6], [1, 1])
    mean, var, ll = batched.mc_statistics(model, X, y_orig, y_mean, y_scale, taus, T, sampler)
    replay = batched.seeded_sampler([5, 6], [1, 1])
    u = torch.cat([replay.pass_uniforms(min(batched._PASS_BLOCK, T - block), 3 + 9)
                   for block in range(0, T, batched._PASS_BLOCK)])
    (W1, b1), (W2, b2) = model.layers()
    for m in range(2):
        passes = []
        for t in range(T):
            mask = torch.floor(u[t, m] + model.keep_prob[m]) / model.keep_prob[m]
            h = torch.relu((torch.tensor(X[m], dtype=torch.float32) * mask[:3]) @ W1[m] + b1[m])
            passes.append(((h * mask[3:]) @ W2[m] + b2[m])[:, 0].double() * y_scale[m] + y_mean[m])
        samples = torch.stack(passes)
        torch.testing.assert_close(mean[m], samples.mean(0), rtol=1e-5, atol=1e-5)  # float32 passes
        torch.testing.assert_close(var[m], samples.var(0, unbiased=False), rtol=1e-4, atol=1e-5)
        for k in range(2):
            expected = predict.regression_log_likelihood(samples, torch.tensor(y_orig[m]), taus[m, k])
            torch.testing.assert_close(ll[m, k], expected, rtol=1e-5, atol=1e-5)
    assert math.isfinite(float(ll.sum()))


def test_bad_arguments():
    X, y = _problem([5, 5])
    sampler = batched.seeded_sampler([0], [2])
    with pytest.raises(ValueError, match="drop_prob"):
        batched.train(X, y, drop_prob=1.0, weight_decay=0, n_epochs=1, batch_size=2, sampler=sampler)
    with pytest.raises(ValueError, match="weight_decay"):
        batched.train(X, y, drop_prob=0.1, weight_decay=-1, n_epochs=1, batch_size=2, sampler=sampler)
    with pytest.raises(ValueError, match="sampler covers 1"):
        batched.train(X, y, drop_prob=0.1, weight_decay=0, n_epochs=1, batch_size=2,
                      sampler=batched.seeded_sampler([0], [1]))
    with pytest.raises(ValueError, match="same number of rows"):
        batched.train(X, [y[0], y[1][:3]], drop_prob=0.1, weight_decay=0, n_epochs=1, batch_size=2, sampler=sampler)
