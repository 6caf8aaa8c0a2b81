"""An exact Gaussian process on given feature vectors (hand-made, latent or coordinates).

Inputs `(N, d)` are mapped to the unit cube with fixed ``bounds`` when given,
else with the range of the first fit's training inputs; new inputs outside it
are *not* clamped (they map outside the cube). Hyperparameters (constant mean,
ARD lengthscales, outputscale, noise, with Gamma priors) are trained by Adam
on GPyTorch's exact marginal log likelihood, warm-started from the previous
fit. Targets are scaled robustly (median / IQR) by default; predictions come
back in target units. Prediction, sampling (marginal, joint, pathwise) and the
BoTorch posterior are shared with :class:`~autoscope.models.dkl.DeepKernelGP`
(:mod:`autoscope.models._gp_core`), as are the edge cases: NaN targets and
fewer than two points raise :class:`~autoscope.errors.DataError`, constant
targets predict the constant with the prior standard deviation away from the
data, near-duplicate inputs are absorbed by jittered Cholesky factors.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from autoscope.errors import ConfigError, DataError
from autoscope.models._gp_core import (
    KERNELS,
    TARGET_SCALINGS,
    GPHead,
    GPSurrogateMixin,
    TargetScale,
    check_targets,
    quiet_numerics,
    resolve_device,
    retry_not_psd,
    torch_threads,
)
from autoscope.models.base import Surrogate

__all__ = ["ExactGP"]


class ExactGP(GPSurrogateMixin, Surrogate):
    """Exact GP regression on feature vectors `(N, d)` with an ARD kernel.

    Args:
        kernel: ``"matern52"`` (default), ``"matern32"`` or ``"rbf"``.
        bounds: Input bounds `(2, d)` (lower, upper) for the unit-cube map;
            ``None`` uses the training range of the first fit.
        iterations: Adam steps per fit (warm-started from the previous fit).
        lr: Adam learning rate.
        target_scaling: ``"robust"`` (median / IQR), ``"minmax"``, ``"standard"`` or ``"none"``.
        priors: Gamma priors on lengthscale, outputscale and noise.
        noise_min: Lower bound of the noise variance (scaled target units).
        collapse_tol: ``mean_spread`` below which :meth:`diagnostics` flags a collapse.
        seed: Seed of any random initialisation.
        device: ``"cpu"`` or ``"cuda"``.
        chunk_size: Candidates per chunk in prediction and sampling.
        n_rff: Random Fourier features of pathwise draws.
        num_threads: Torch threads while fitting/predicting (``None``: leave as is).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.random((30, 2))
        >>> model = ExactGP(iterations=20).fit(x, np.sin(6 * x[:, 0]))
        >>> mean, std = model.predict(x[:4])
        >>> mean.shape, model.sample(x[:4], n_samples=3, rng=rng, method="joint").shape
        ((4,), (3, 4))
    """

    def __init__(
        self,
        *,
        kernel: str = "matern52",
        bounds: np.ndarray | None = None,
        iterations: int = 100,
        lr: float = 0.1,
        target_scaling: str = "robust",
        priors: bool = True,
        noise_min: float = 1e-4,
        collapse_tol: float = 1e-3,
        seed: int = 0,
        device: str = "cpu",
        chunk_size: int = 4096,
        n_rff: int = 1024,
        num_threads: int | None = 1,
    ) -> None:
        self.kernel = kernel
        self.bounds = None if bounds is None else np.asarray(bounds, dtype=np.float64)
        self.iterations = iterations
        self.lr = lr
        self.target_scaling = target_scaling
        self.priors = priors
        self.noise_min = noise_min
        self.collapse_tol = collapse_tol
        self.seed = seed
        self.device = device
        self.chunk_size = chunk_size
        self.n_rff = n_rff
        self.num_threads = num_threads
        if kernel not in KERNELS:
            raise ConfigError(f"ExactGP: kernel must be one of {KERNELS}, got {kernel!r}")
        b = self.bounds
        if b is not None and (b.ndim != 2 or b.shape[0] != 2 or not (b[1] > b[0]).all()):
            raise ConfigError(
                f"ExactGP: bounds must be (2, d) with upper > lower, got {self.bounds.tolist()}"
            )
        if int(iterations) < 0 or float(lr) <= 0 or float(noise_min) <= 0:
            raise ConfigError("ExactGP: iterations must be >= 0, lr and noise_min > 0")
        if target_scaling not in TARGET_SCALINGS:
            raise ConfigError(f"ExactGP: target_scaling must be one of {TARGET_SCALINGS}")
        if int(chunk_size) < 1 or int(n_rff) < 1:
            raise ConfigError("ExactGP: chunk_size and n_rff must be >= 1")
        resolve_device(device)
        self.head_: GPHead | None = None
        self.target_: TargetScale | None = None
        self.lower_: np.ndarray | None = None
        self.span_: np.ndarray | None = None
        self.x_train_: torch.Tensor | None = None
        self.y_train_: torch.Tensor | None = None
        self.loss_history_: list[float] = []
        self._diagnostics: dict[str, float] = {}

    def get_params(self) -> dict[str, Any]:
        """The constructor options."""
        names = list(inspect.signature(ExactGP.__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}

    def _inputs(self, x: Any, where: str) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or len(x) == 0:
            raise DataError(f"{where}: features must be a non-empty (N, d) array, got {x.shape}")
        if self.lower_ is not None and x.shape[1] != len(self.lower_):
            raise DataError(
                f"{where}: features have d={x.shape[1]}, fitted on d={len(self.lower_)}"
            )
        if not np.isfinite(x).all():
            bad = int((~np.isfinite(x).all(axis=1)).sum())
            raise DataError(f"{where}: {bad} feature rows contain NaN/inf")
        return x

    def _transform(self, x: np.ndarray) -> torch.Tensor:
        x = self._inputs(x, "ExactGP.predict")
        assert self.lower_ is not None and self.span_ is not None
        unit = (x - self.lower_) / self.span_
        return torch.as_tensor(unit, dtype=torch.float64, device=resolve_device(self.device))

    def fit(self, x: np.ndarray, y: np.ndarray) -> ExactGP:
        """Fit on features `(n, d)` and targets `(n,)`; returns ``self``.

        Raises:
            DataError: Bad shapes, NaN/inf, or fewer than 2 points.
        """
        x = self._inputs(x, "ExactGP.fit")
        y = check_targets(y, len(x), "ExactGP.fit")
        if self.lower_ is None:
            if self.bounds is not None:
                if self.bounds.shape[1] != x.shape[1]:
                    raise DataError(f"ExactGP.fit: bounds are for d={self.bounds.shape[1]}, "
                                    f"features have d={x.shape[1]}")
                lower, upper = self.bounds
            else:
                lower, upper = x.min(0), x.max(0)
            span = upper - lower
            self.lower_, self.span_ = lower, np.where(span > 0, span, 1.0)
        target = TargetScale.fit(y, self.target_scaling)
        dev = resolve_device(self.device)
        y_t = torch.as_tensor(target.transform(y), dtype=torch.float64, device=dev)
        with torch_threads(self.num_threads), quiet_numerics():
            z = self._transform(x)
            if self.head_ is None:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(self.seed))
                    head = GPHead(x.shape[1], kind="exact", kernel=self.kernel,
                                  noise_min=float(self.noise_min), priors=bool(self.priors))
                self.head_ = head.to(device=dev, dtype=torch.float64)
            head = self.head_
            self.target_ = target
            losses: list[float] = []
            if not target.constant and int(self.iterations) > 0:
                mll = head.objective("mll", len(y))
                optimizer = torch.optim.Adam(head.parameters(), lr=float(self.lr))
                head.train()

                def step() -> float:
                    optimizer.zero_grad()
                    loss = head.loss(mll, z, y_t)
                    loss.backward()
                    optimizer.step()
                    return float(loss.detach())

                for _ in range(int(self.iterations)):
                    losses.append(retry_not_psd(step, where="ExactGP.fit"))
                head.eval()
            retry_not_psd(lambda: head.condition(z, y_t), where="ExactGP.fit")
            self.x_train_, self.y_train_ = z, y_t
            self._diagnostics = self._health(z, y_t, float(self.collapse_tol))
        self.loss_history_ = losses
        self._diagnostics["loss_initial"] = losses[0] if losses else float("nan")
        self._diagnostics["loss_final"] = losses[-1] if losses else float("nan")
        return self

    def diagnostics(self) -> dict[str, float]:
        """Health of the last fit (see :class:`~autoscope.models.dkl.DeepKernelGP`)."""
        return dict(self._diagnostics)

    def state_dict(self) -> dict[str, Any]:
        """GP hyperparameters, input and target scaling, training data."""
        head, target = self._check_fitted()
        assert self.x_train_ is not None and self.y_train_ is not None
        return {
            "options": {k: v for k, v in self.get_params().items() if k != "bounds"},
            "head": {k: v.detach().cpu().clone() for k, v in head.state_dict().items()},
            "lower": np.array(self.lower_),
            "span": np.array(self.span_),
            "x_train": self.x_train_.cpu().clone(),
            "y_train": self.y_train_.cpu().clone(),
            "target": target.as_dict(),
            "diagnostics": dict(self._diagnostics),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        dev = resolve_device(self.device)
        self.lower_, self.span_ = np.asarray(state["lower"]), np.asarray(state["span"])
        head = GPHead(len(self.lower_), kind="exact", kernel=self.kernel,
                      noise_min=float(self.noise_min), priors=bool(self.priors))
        head = head.to(device=dev, dtype=torch.float64)
        head.load_state_dict(state["head"])
        head.eval()
        self.head_ = head
        self.target_ = TargetScale(**state["target"])
        self.x_train_ = state["x_train"].to(dev)
        self.y_train_ = state["y_train"].to(dev)
        self._diagnostics = dict(state["diagnostics"])
        with quiet_numerics():
            retry_not_psd(lambda: head.condition(self.x_train_, self.y_train_),
                          where="ExactGP.load_state_dict")
