"""Deep kernel learning: a small CNN on image patches feeding a Gaussian process.

This is the surrogate of BEACON-DKL: a CNN maps each patch `(w, w)` to a few
features φ(x; w), a GP with an ARD kernel on φ models the scalar target, and
network weights and GP hyperparameters are trained jointly with Adam on the
GP objective after every measurement. The network carries over between fits
(warm start); ``refit="full"`` reinitialises it from ``seed`` every time.

Why the published recipe collapses, and the cure. On the real BEPS loop-height
map the published recipe (2 raw CNN features, a 10-point sparse variational GP,
min–max targets) maps every patch to nearly the same feature within a few
steps: the objective is happy to explain the data as noise (σ² ≈ 0.3 on
min–max targets) and the predicted mean is flat. Measured with
``benchmarks/bench_dkl_beps.py``, the default here differs in three ways:

* the CNN features are *standardised* with the mean and standard deviation of
  the training batch inside the forward pass (a BatchNorm without learned
  affine; the statistics of the last fit are frozen for prediction, so new
  patches are never clamped into the training range). The network cannot
  shrink the features to a point: the kernel always sees unit spread;
* an exact GP (float64 algebra, jittered Cholesky) with Gamma priors on
  lengthscale, outputscale and noise, instead of 10 inducing points;
* targets scaled robustly (median / IQR) instead of min–max per step.

A collapsed model is detected, not only avoided: :meth:`DeepKernelGP.diagnostics`
reports ``feature_spread`` (largest std of the training features over their
lengthscale), ``mean_spread`` (std of the posterior mean over the training
inputs relative to that of the targets), ``noise``, ``outputscale``,
``lengthscale`` and ``collapsed`` = 1.0 when ``feature_spread < 0.5`` or
``mean_spread < collapse_tol`` (1e-3 by default); see ``_health`` for how 0.5
was calibrated.

Edge cases never reach GPyTorch's internals: NaN/inf targets and fewer than two
points raise :class:`~autoscope.errors.DataError`; constant targets skip
training and predict the constant everywhere, with the prior standard
deviation (``|constant|``, or 1 when it is zero) away from the data;
near-duplicate inputs are handled by jittered Cholesky factors and a retry
with growing ``cholesky_jitter`` on ``NotPSDError``.

Training is deterministic under ``seed`` on the CPU (weights from
``torch.manual_seed(seed)`` inside :func:`torch.random.fork_rng`; full-batch
Adam has no other randomness); torch threads are pinned to ``num_threads``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from autoscope.errors import ConfigError, DataError
from autoscope.models._gp_core import (
    KERNELS,
    MEANS,
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

__all__ = ["DeepKernelGP", "FeatureNet"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class FeatureNet(nn.Module):
    """The CNN feature extractor: conv, pool, conv, pool, linear.

    Args:
        window: Patch side ``w`` (the input is `(B, 1, w, w)`).
        n_features: Output features ``d``.
        channels: Channels of the two 3x3 convolutions.
        centre: When > 0, one more feature, not learned: the mean of the central
            ``centre x centre`` pixels (pooling blurs the value at the point
            whose spectrum is predicted).

    Example:
        >>> net = FeatureNet(16, n_features=2)
        >>> tuple(net(torch.zeros(5, 1, 16, 16)).shape)
        (5, 2)
    """

    def __init__(
        self,
        window: int,
        *,
        n_features: int = 2,
        channels: tuple[int, int] = (16, 32),
        centre: int = 0,
    ):
        super().__init__()
        if not 0 <= centre <= window:
            raise ConfigError(f"FeatureNet: centre must be in [0, {window}], got {centre}")
        lo = window // 2 - centre // 2  # the candidate pixel sits at index window // 2
        self.centre = slice(lo, lo + centre) if centre else None
        c1, c2 = channels
        side = window // 4
        if side < 1:
            raise ConfigError(f"FeatureNet needs patches of at least 4x4, got window={window}")
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * side * side, n_features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features `(B, d)` (`(B, d + 1)` with ``centre``) of patches `(B, 1, w, w)`."""
        phi = self.body(x)
        if self.centre is None:
            return phi
        middle = x[:, 0, self.centre, self.centre].mean(dim=(1, 2))
        return torch.cat([phi, middle[:, None]], dim=1)


class DeepKernelGP(GPSurrogateMixin, Surrogate):
    """A CNN feature extractor on patches `(N, w, w)` feeding a GP (deep kernel learning).

    Args:
        n_features: Dimension ``d`` of the learned features.
        channels: Channels of the two convolutions.
        centre_feature: Append the mean of the central ``c x c`` pixels of each
            patch (the candidate's own structure value) to the learned features;
            0 = off. Default 1: on BEPS loop height (10 seeds x 100 steps) it
            lowered the final RMSE of dkl-ei / dkl-mu / dkl-beacon from
            0.098 / 0.098 / 0.098 to 0.067 / 0.079 / 0.059 (constant predictor
            0.137): two max-pools otherwise blur the one value the target
            depends on most.
        kernel: ``"rbf"``, ``"matern52"`` or ``"matern32"`` (ARD over the features).
        mean: GP prior mean, ``"linear"`` in the features (default) or
            ``"constant"``. A linear mean lets the model extrapolate a trend to
            unseen extreme patches instead of reverting to a constant: on the BEPS
            loop-height campaigns (3 seeds x 100 steps) it lowered the final RMSE
            of dkl-mu from 0.107 to 0.097, dkl-ei from 0.100 to 0.095 and
            dkl-beacon from 0.112 to 0.097.
        gp: ``"exact"`` (default) or ``"svgp"`` (sparse variational, for many points).
        n_inducing: Inducing points of the ``"svgp"`` GP.
        objective: ``"mll"`` (exact GP), ``"elbo"`` or ``"pll"`` (svgp; the
            predictive log likelihood). ``None``: ``"mll"`` / ``"elbo"``.
        iterations: Adam steps per warm-started fit. 10 by default: on the BEPS
            loop-height campaign (dkl-mu, 3 seeds x 100 steps) 10 and 30 steps gave
            the same final RMSE (0.107 vs 0.106) at half the time per step.
        first_iterations: Adam steps of the first fit (and of every ``"full"`` refit).
        lr: Adam learning rate (a fresh Adam per fit).
        refit: ``"warm"`` keeps the network (and GP) between fits; ``"full"``
            reinitialises both from ``seed`` each fit.
        reinit_gp: Re-create the GP at every fit (the published behaviour)
            while the network carries over.
        feature_norm: ``"standardize"`` the CNN features with the training
            batch's statistics (default) or ``"none"``.
        target_scaling: ``"robust"`` (median / IQR, default), ``"minmax"``
            (per fit, the published behaviour), ``"standard"`` or ``"none"``.
        priors: Gamma priors on lengthscale, outputscale and noise.
        noise_min: Lower bound of the noise variance in scaled target units.
        collapse_tol: ``mean_spread`` below which the model counts as collapsed.
        dtype: ``"float64"`` (default) or ``"float32"`` GP algebra (the CNN
            always runs float32).
        seed: Seed of the network weights.
        device: ``"cpu"`` or ``"cuda"`` (an error if CUDA is absent).
        chunk_size: Candidates per chunk in prediction and sampling.
        n_rff: Random Fourier features of pathwise draws.
        num_threads: Torch threads while fitting/predicting (``None``: leave as is).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.random((20, 8, 8)), rng.random(20)
        >>> model = DeepKernelGP(iterations=5, first_iterations=10).fit(x, y)
        >>> mean, std = model.predict(x[:3])
        >>> mean.shape, model.sample(x[:3], n_samples=2, rng=rng).shape
        ((3,), (2, 3))
    """

    def __init__(
        self,
        *,
        n_features: int = 4,
        channels: tuple[int, int] = (16, 32),
        centre_feature: int = 1,
        kernel: str = "rbf",
        mean: str = "linear",
        gp: str = "exact",
        n_inducing: int = 64,
        objective: str | None = None,
        iterations: int = 10,
        first_iterations: int = 200,
        lr: float = 0.01,
        refit: str = "warm",
        reinit_gp: bool = False,
        feature_norm: str = "standardize",
        target_scaling: str = "robust",
        priors: bool = True,
        noise_min: float = 1e-4,
        collapse_tol: float = 1e-3,
        dtype: str = "float64",
        seed: int = 0,
        device: str = "cpu",
        chunk_size: int = 4096,
        n_rff: int = 1024,
        num_threads: int | None = 1,
    ) -> None:
        self.n_features = n_features
        self.channels = tuple(channels)
        self.centre_feature = centre_feature
        self.kernel = kernel
        self.mean = mean
        self.gp = gp
        self.n_inducing = n_inducing
        self.objective = objective
        self.iterations = iterations
        self.first_iterations = first_iterations
        self.lr = lr
        self.refit = refit
        self.reinit_gp = reinit_gp
        self.feature_norm = feature_norm
        self.target_scaling = target_scaling
        self.priors = priors
        self.noise_min = noise_min
        self.collapse_tol = collapse_tol
        self.dtype = dtype
        self.seed = seed
        self.device = device
        self.chunk_size = chunk_size
        self.n_rff = n_rff
        self.num_threads = num_threads
        self._validate()
        self.net_: FeatureNet | None = None
        self.head_: GPHead | None = None
        self.target_: TargetScale | None = None
        self.window_: int | None = None
        self.feat_mean_: torch.Tensor | None = None
        self.feat_std_: torch.Tensor | None = None
        self.x_train_: torch.Tensor | None = None
        self.y_train_: torch.Tensor | None = None
        self.n_fits_ = 0
        self.loss_history_: list[float] = []
        self._diagnostics: dict[str, float] = {}

    # ------------------------------------------------------------------ options
    def _validate(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(f"DeepKernelGP: {message}")

        need(int(self.n_features) >= 1, f"n_features must be >= 1, got {self.n_features!r}")
        need(int(self.centre_feature) >= 0, f"centre_feature must be >= 0: {self.centre_feature}")
        need(
            len(self.channels) == 2 and min(self.channels) >= 1,
            f"channels must be two positive ints, got {self.channels!r}",
        )
        need(self.kernel in KERNELS, f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        need(self.mean in MEANS, f"mean must be one of {MEANS}, got {self.mean!r}")
        need(self.gp in ("exact", "svgp"), f"gp must be 'exact' or 'svgp', got {self.gp!r}")
        need(int(self.n_inducing) >= 1, f"n_inducing must be >= 1, got {self.n_inducing!r}")
        allowed = ("mll",) if self.gp == "exact" else ("elbo", "pll")
        need(
            self.objective is None or self.objective in allowed,
            f"objective for gp={self.gp!r} must be one of {allowed}, got {self.objective!r}",
        )
        need(int(self.iterations) >= 0, f"iterations must be >= 0, got {self.iterations!r}")
        need(int(self.first_iterations) >= 0, "first_iterations must be >= 0")
        need(float(self.lr) > 0, f"lr must be > 0, got {self.lr!r}")
        need(self.refit in ("warm", "full"), f"refit must be 'warm' or 'full', got {self.refit!r}")
        need(
            self.feature_norm in ("standardize", "none"),
            f"feature_norm must be 'standardize' or 'none', got {self.feature_norm!r}",
        )
        need(
            self.target_scaling in TARGET_SCALINGS,
            f"target_scaling must be one of {TARGET_SCALINGS}, got {self.target_scaling!r}",
        )
        need(float(self.noise_min) > 0, f"noise_min must be > 0, got {self.noise_min!r}")
        need(self.dtype in _DTYPES, f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        need(int(self.chunk_size) >= 1, f"chunk_size must be >= 1, got {self.chunk_size!r}")
        need(int(self.n_rff) >= 1, f"n_rff must be >= 1, got {self.n_rff!r}")
        resolve_device(self.device)

    def get_params(self) -> dict[str, Any]:
        """The constructor options."""
        names = list(inspect.signature(DeepKernelGP.__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}

    @property
    def _objective(self) -> str:
        return self.objective or ("mll" if self.gp == "exact" else "elbo")

    @property
    def _dev(self) -> torch.device:
        return resolve_device(self.device)

    @property
    def _gp_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]

    # ------------------------------------------------------------------ inputs
    def _patches(self, x: Any, where: str) -> torch.Tensor:
        x = np.asarray(x)
        if x.ndim == 4 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 3 or x.shape[1] != x.shape[2] or len(x) == 0:
            raise DataError(
                f"{where}: patches must be a non-empty (N, w, w) or (N, 1, w, w) array, "
                f"got shape {x.shape}"
            )
        if self.window_ is not None and x.shape[1] != self.window_:
            raise DataError(
                f"{where}: patches are {x.shape[1]}x{x.shape[2]} but the model was fitted on "
                f"{self.window_}x{self.window_}"
            )
        if not np.isfinite(x).all():
            bad = int((~np.isfinite(x.reshape(len(x), -1)).all(axis=1)).sum())
            raise DataError(f"{where}: {bad} patches contain NaN/inf values")
        return torch.from_numpy(np.array(x, dtype=np.float32)).to(self._dev).unsqueeze(1)

    def _raw_features(self, patches: torch.Tensor) -> torch.Tensor:
        assert self.net_ is not None
        return self.net_(patches).to(self._gp_dtype)

    def _standardize(self, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.feature_norm == "none":
            return torch.zeros_like(phi[0]), torch.ones_like(phi[0])
        mean = phi.mean(0)
        std = phi.std(0) if len(phi) > 1 else torch.ones_like(mean)
        return mean, std + 1e-6 * (std.detach().max() + 1e-12)

    def _transform(self, x: np.ndarray) -> torch.Tensor:
        # One step predicts and samples over the same pool: the network's
        # features of the last read-only array (a pool's features) are reused
        # until the next fit. The cache holds the array, so its memory cannot
        # be reused by another array while the key is alive.
        if not isinstance(x, np.ndarray) or x.flags.writeable:
            return self._compute_features(x)
        key = (x.__array_interface__["data"][0], x.shape, x.strides, x.dtype.str, self.n_fits_)
        cache = getattr(self, "_transform_cache", None)
        if cache is not None and cache[0] == key:
            return cache[2]
        z = self._compute_features(x)
        self._transform_cache = (key, x, z)
        return z

    def _compute_features(self, x: np.ndarray) -> torch.Tensor:
        patches = self._patches(x, "DeepKernelGP.predict")
        assert self.feat_mean_ is not None and self.feat_std_ is not None
        out = []
        with torch.no_grad():
            for start in range(0, len(patches), self.chunk_size):
                phi = self._raw_features(patches[start : start + self.chunk_size])
                out.append((phi - self.feat_mean_) / self.feat_std_)
        return torch.cat(out)

    # ------------------------------------------------------------------ building
    def _build_net(self, window: int) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            net = FeatureNet(
                window,
                n_features=int(self.n_features),
                channels=self.channels,
                centre=int(self.centre_feature),
            )
        self.net_ = net.to(self._dev)

    def _build_head(self, z: torch.Tensor) -> None:
        inducing = None
        if self.gp == "svgp":
            m = min(int(self.n_inducing), len(z))
            inducing = z[:m].detach().clone()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            head = GPHead(
                z.shape[-1],
                kind=self.gp,
                kernel=self.kernel,
                inducing=inducing,
                noise_min=float(self.noise_min),
                priors=bool(self.priors),
                mean=self.mean,
            )
        self.head_ = head.to(device=self._dev, dtype=self._gp_dtype)

    # ------------------------------------------------------------------ fit
    def fit(self, x: np.ndarray, y: np.ndarray) -> DeepKernelGP:
        """Train network and GP on patches `(n, w, w)` and targets `(n,)`; returns ``self``.

        Raises:
            DataError: Bad shapes, NaN/inf targets or patches, or fewer than 2 points.
        """
        patches = self._patches(x, "DeepKernelGP.fit")
        y_np = check_targets(y, len(patches), "DeepKernelGP.fit")
        target = TargetScale.fit(y_np, self.target_scaling)
        y_t = torch.as_tensor(target.transform(y_np), dtype=self._gp_dtype, device=self._dev)
        with torch_threads(self.num_threads), quiet_numerics():
            fresh = self.net_ is None or self.refit == "full"
            if fresh:
                self.window_ = int(patches.shape[-1])
                self._build_net(self.window_)
                self.head_ = None
            steps = int(self.first_iterations if fresh else self.iterations)
            if self.head_ is None or self.reinit_gp:
                with torch.no_grad():
                    phi = self._raw_features(patches)
                    mean, std = self._standardize(phi)
                self._build_head((phi - mean) / std)
            self.target_ = target
            if target.constant:  # nothing to learn: the prior mean is the constant itself
                losses: list[float] = []
                assert self.head_ is not None
                with torch.no_grad():
                    for parameter in self.head_.gp.mean_module.parameters():
                        parameter.zero_()
            else:
                losses = self._train(patches, y_t, steps)
            self.loss_history_ = losses
            with torch.no_grad():
                phi = self._raw_features(patches)
                self.feat_mean_, self.feat_std_ = self._standardize(phi)
                z = (phi - self.feat_mean_) / self.feat_std_
            assert self.head_ is not None
            retry_not_psd(lambda: self.head_.condition(z, y_t), where="DeepKernelGP.fit")
            self.x_train_, self.y_train_ = patches, y_t
            self.n_fits_ += 1
            self._diagnostics = self._health(z, y_t, float(self.collapse_tol))
        self._diagnostics["loss_initial"] = losses[0] if losses else float("nan")
        self._diagnostics["loss_final"] = losses[-1] if losses else float("nan")
        return self

    def _train(self, patches: torch.Tensor, y: torch.Tensor, steps: int) -> list[float]:
        head, net = self.head_, self.net_
        assert head is not None and net is not None
        mll = head.objective(self._objective, len(y))
        params = list(net.parameters()) + list(head.parameters())
        optimizer = torch.optim.Adam(params, lr=float(self.lr))
        net.train()
        head.train()
        head.gp.train()
        losses: list[float] = []

        def step() -> float:
            optimizer.zero_grad()
            phi = self._raw_features(patches)
            mean, std = self._standardize(phi)
            loss = head.loss(mll, (phi - mean) / std, y)
            loss.backward()
            optimizer.step()
            return float(loss.detach())

        for _ in range(steps):
            losses.append(retry_not_psd(step, where="DeepKernelGP.fit"))
        net.eval()
        head.eval()
        return losses

    # ------------------------------------------------------------------ state
    def diagnostics(self) -> dict[str, float]:
        """Health of the last fit (see the module docstring for the collapse rule).

        Keys: ``noise``, ``outputscale``, ``lengthscale`` (median), ``feature_spread``,
        ``mean_spread``, ``collapsed``, ``loss_initial``, ``loss_final``.
        """
        return dict(self._diagnostics)

    def state_dict(self) -> dict[str, Any]:
        """Network, GP, feature and target scaling, training data and fit count."""
        self._check_fitted()
        assert self.net_ is not None and self.head_ is not None and self.target_ is not None
        return {
            "options": self.get_params(),
            "window": self.window_,
            "n_fits": self.n_fits_,
            "net": {k: v.detach().cpu().clone() for k, v in self.net_.state_dict().items()},
            "head": {k: v.detach().cpu().clone() for k, v in self.head_.state_dict().items()},
            "n_inducing": (
                int(self.head_.gp.variational_strategy.inducing_points.shape[0])
                if self.gp == "svgp"
                else 0
            ),
            "feat_mean": self.feat_mean_.detach().cpu().clone(),
            "feat_std": self.feat_std_.detach().cpu().clone(),
            "x_train": self.x_train_.detach().cpu().clone(),
            "y_train": self.y_train_.detach().cpu().clone(),
            "target": self.target_.as_dict(),
            "diagnostics": dict(self._diagnostics),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the options of ``self`` must match the saved ones)."""
        mine = self.get_params()
        theirs = dict(state["options"])
        free = ("device", "num_threads", "chunk_size")
        differ = sorted(k for k in mine if k not in free and mine[k] != theirs.get(k))
        if differ:
            raise ConfigError(
                f"DeepKernelGP.load_state_dict: options differ from the saved ones: {differ}"
            )
        dev, dt = self._dev, self._gp_dtype
        self.window_ = int(state["window"])
        self._build_net(self.window_)
        assert self.net_ is not None
        self.net_.load_state_dict(state["net"])
        self.net_.eval()
        m = int(state["n_inducing"]) or 1
        d = int(self.n_features) + (int(self.centre_feature) > 0)
        self._build_head(torch.zeros(m, d, dtype=dt, device=dev))
        assert self.head_ is not None
        self.head_.load_state_dict(state["head"])
        self.head_.eval()
        self.feat_mean_ = state["feat_mean"].to(device=dev, dtype=dt)
        self.feat_std_ = state["feat_std"].to(device=dev, dtype=dt)
        self.x_train_ = state["x_train"].to(device=dev)
        self.y_train_ = state["y_train"].to(device=dev, dtype=dt)
        self.target_ = TargetScale(**state["target"])
        self.n_fits_ = int(state["n_fits"])
        self._transform_cache = None
        self._diagnostics = dict(state["diagnostics"])
        with torch_threads(self.num_threads), quiet_numerics(), torch.no_grad():
            z = (self._raw_features(self.x_train_) - self.feat_mean_) / self.feat_std_
            head = self.head_
            retry_not_psd(lambda: head.condition(z, self.y_train_), where="load_state_dict")

