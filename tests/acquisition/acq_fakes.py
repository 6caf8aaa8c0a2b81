"""Fake surrogates for the acquisition tests: fixed arrays and an exact 1-D GP."""

from __future__ import annotations

import numpy as np

from autoscope.models.base import Surrogate


class ArraySurrogate(Surrogate):
    """Returns given arrays for the whole pool; draws are ``samples`` or mean + std * noise."""

    def __init__(self, mean, std, *, samples=None, noise_std=0.0):
        self.mean = np.asarray(mean, dtype=float)
        self.std = np.asarray(std, dtype=float)
        self.samples = None if samples is None else np.asarray(samples, dtype=float)
        self.noise_std = noise_std
        self.methods: list[str] = []

    def fit(self, x, y):
        return self

    def predict(self, x, *, include_noise=False):
        assert len(x) == len(self.mean)
        std = np.sqrt(self.std**2 + self.noise_std**2) if include_noise else self.std
        return self.mean.copy(), std.copy()

    def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        assert len(x) == len(self.mean)
        self.methods.append(method)
        if self.samples is not None:
            return np.tile(self.samples, (n_samples, 1))
        return self.mean + self.std * rng.standard_normal((n_samples, len(self.mean)))


class GP1D(Surrogate):
    """Exact GP with a squared-exponential kernel on 1-D inputs `(N, 1)`."""

    def __init__(self, x, y, *, lengthscale=0.2, signal=1.0, noise=0.05, n_features=1024):
        self.x = np.asarray(x, dtype=float).reshape(-1)
        self.y = np.asarray(y, dtype=float).reshape(-1)
        self.lengthscale = lengthscale
        self.signal = signal
        self.noise = noise
        self.n_features = n_features
        gram = self._k(self.x, self.x) + noise**2 * np.eye(len(self.x))
        self._chol = np.linalg.cholesky(gram)
        self._alpha = self._solve(self.y)

    def _k(self, a, b):
        return self.signal**2 * np.exp(-0.5 * ((a[:, None] - b[None, :]) / self.lengthscale) ** 2)

    def _solve(self, v):
        z = np.linalg.solve(self._chol, v)
        return np.linalg.solve(self._chol.T, z)

    def fit(self, x, y):
        return self

    def predict(self, x, *, include_noise=False):
        x = np.asarray(x, dtype=float).reshape(-1)
        cross = self._k(x, self.x)
        mean = cross @ self._alpha
        v = np.linalg.solve(self._chol, cross.T)
        var = np.maximum(self.signal**2 - (v**2).sum(axis=0), 0.0)
        if include_noise:
            var = var + self.noise**2
        return mean, np.sqrt(var)

    def _cov(self, x):
        cross = self._k(x, self.x)
        v = np.linalg.solve(self._chol, cross.T)
        return self._k(x, x) - v.T @ v

    def sample(self, x, *, n_samples=1, rng, method="pathwise"):
        x = np.asarray(x, dtype=float).reshape(-1)
        mean, std = self.predict(x)
        if method == "marginal":
            return mean + std * rng.standard_normal((n_samples, len(x)))
        if method == "joint":
            chol = np.linalg.cholesky(self._cov(x) + 1e-9 * np.eye(len(x)))
            return mean + rng.standard_normal((n_samples, len(x))) @ chol.T
        # pathwise: random Fourier prior draw, then Matheron's update
        omega = rng.standard_normal((n_samples, self.n_features)) / self.lengthscale
        phase = rng.uniform(0, 2 * np.pi, (n_samples, self.n_features))
        weights = rng.standard_normal((n_samples, self.n_features))
        scale = self.signal * np.sqrt(2.0 / self.n_features)

        def prior(points):
            feats = np.cos(points[None, :, None] * omega[:, None, :] + phase[:, None, :])
            return scale * (feats * weights[:, None, :]).sum(axis=2)

        eps = self.noise * rng.standard_normal((n_samples, len(self.x)))
        residual = self.y[None, :] - prior(self.x) - eps
        update = self._k(x, self.x) @ self._solve(residual.T)
        return prior(x) + update.T

    def fantasize(self, x):
        x = np.asarray(x, dtype=float).reshape(-1)
        mean, _ = self.predict(x)
        return GP1D(
            np.concatenate([self.x, x]),
            np.concatenate([self.y, mean]),
            lengthscale=self.lengthscale,
            signal=self.signal,
            noise=self.noise,
            n_features=self.n_features,
        )


def gp_problem(n=41, seed=0):
    """A GP fitted to 5 points of ``sin(6x)`` on a grid of ``n`` candidates in [0, 1]."""
    grid = np.linspace(0, 1, n)
    measured = np.round(np.array([0.05, 0.25, 0.5, 0.75, 0.95]) * (n - 1)).astype(np.int64)
    targets = np.sin(6 * grid[measured])
    return GP1D(grid[measured], targets), grid[:, None], measured, targets
