"""Shared Gaussian-process machinery of :mod:`autoscope.models.gp` and :mod:`~.dkl`.

GPyTorch supplies the kernels, likelihood, priors, constraints, variational
strategy and the training objectives (exact marginal log likelihood, ELBO,
predictive log likelihood). The exact posterior is then computed here from one
jittered Cholesky factor of ``K + σ²I``, because predictions, joint draws,
pathwise (Matheron) draws and the BoTorch posterior all need that same factor,
and a factor computed once per fit is cheaper and easier to make robust than
GPyTorch's prediction caches (``cholesky_ex`` with growing jitter: a
near-singular kernel matrix never raises ``NotPSDError``). Random Fourier
features of RBF/Matérn kernels for pathwise draws are written by hand: no
well-kept library offers them for a GPyTorch kernel on CPU and GPU.

Everything here works in *scaled* target units; the public models map back.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

with warnings.catch_warnings():
    # linear_operator decorates its CG solver with ``torch.jit.script``, deprecated in
    # recent torch; the warning comes from the import, not from anything we call.
    warnings.filterwarnings(
        "ignore", message=r".*torch\.jit\.script.* is deprecated", category=DeprecationWarning
    )
    import gpytorch
    from botorch.models.model import Model
    from botorch.posteriors.gpytorch import GPyTorchPosterior
    from gpytorch.distributions import MultivariateNormal
    from linear_operator.utils.errors import NotPSDError
    from linear_operator.utils.warnings import NumericalWarning

from autoscope.data.scaling import robust_scale
from autoscope.errors import ConfigError, DataError

KernelName = Literal["rbf", "matern52", "matern32"]
GPKind = Literal["exact", "svgp"]
Objective = Literal["mll", "elbo", "pll"]
TargetScaling = Literal["robust", "minmax", "standard", "none"]

KERNELS = ("rbf", "matern52", "matern32")
TARGET_SCALINGS = ("robust", "minmax", "standard", "none")
MAX_JOINT = 5000
"""Largest number of candidates :func:`GPHead.joint` accepts (the covariance is `(N, N)`)."""


# --------------------------------------------------------------------------- plumbing


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device; raises :class:`ConfigError` if CUDA is asked for but absent."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"unknown device {device!r}: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {str(device)!r} requested but CUDA is not available")
    return dev


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Pin torch's intra-op threads for the duration, then restore them."""
    old = torch.get_num_threads()
    try:
        if num_threads is not None:
            torch.set_num_threads(int(num_threads))
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def quiet_numerics() -> Iterator[None]:
    """Silence the jitter warnings of GPyTorch / linear_operator (and only those).

    ``NumericalWarning`` reports that jitter was added to a Cholesky factor:
    an expected, handled event for near-duplicate inputs, not a user error.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=NumericalWarning)
        yield


def torch_generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    """A torch generator seeded from a numpy generator (advances ``rng``)."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return gen


def check_targets(y: Any, n: int, where: str) -> np.ndarray:
    """Validate targets `(n,)`: finite, 1-D, matching ``n`` rows, at least two."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{where}: targets must have shape ({n},), got {y.shape}")
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(
            f"{where}: {int(bad.sum())} of {n} targets are NaN/inf (first at index "
            f"{int(np.argmax(bad))}); drop or repair them before fitting"
        )
    if n < 2:
        raise DataError(f"{where}: need at least 2 measured points to fit a GP, got {n}")
    return y


# --------------------------------------------------------------------------- target scaling


@dataclass(frozen=True)
class TargetScale:
    """Affine map ``scaled = (y − center) / scale`` of the targets of one fit."""

    center: float
    scale: float
    constant: bool

    @classmethod
    def fit(cls, y: np.ndarray, how: str) -> TargetScale:
        """Scale targets `(n,)` by ``how`` (one of :data:`TARGET_SCALINGS`).

        Constant targets (all equal) get ``center`` = the constant and ``scale``
        = ``|constant|`` (1 when it is zero), and ``constant=True``.
        """
        lo, hi = float(y.min()), float(y.max())
        if hi == lo:
            return cls(lo, abs(lo) if lo != 0 else 1.0, True)
        if how == "robust":
            _, info = robust_scale(y, outlier_iqr=1e12)
            return cls(info.center, info.scale, False)
        if how == "minmax":
            return cls(lo, hi - lo, False)
        if how == "standard":
            return cls(float(y.mean()), float(y.std()), False)
        return cls(0.0, 1.0, False)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Scaled targets."""
        return (np.asarray(y, dtype=np.float64) - self.center) / self.scale

    def as_dict(self) -> dict[str, Any]:
        """Plain values for a state dict."""
        return {"center": self.center, "scale": self.scale, "constant": self.constant}


# --------------------------------------------------------------------------- GP modules


def make_kernel(
    kernel: str, d: int, *, priors: bool, ard: bool = True
) -> gpytorch.kernels.ScaleKernel:
    """``ScaleKernel(base)`` with an ARD lengthscale over ``d`` dimensions."""
    if kernel not in KERNELS:
        raise ConfigError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")
    ls_prior = gpytorch.priors.GammaPrior(3.0, 6.0) if priors else None
    kw: dict[str, Any] = {"ard_num_dims": d if ard else None, "lengthscale_prior": ls_prior}
    if kernel == "rbf":
        base = gpytorch.kernels.RBFKernel(**kw)
    else:
        base = gpytorch.kernels.MaternKernel(nu=2.5 if kernel == "matern52" else 1.5, **kw)
    os_prior = gpytorch.priors.GammaPrior(2.0, 0.15) if priors else None
    return gpytorch.kernels.ScaleKernel(base, outputscale_prior=os_prior)


def make_likelihood(*, noise_min: float, priors: bool) -> gpytorch.likelihoods.GaussianLikelihood:
    """Gaussian likelihood with noise ``>= noise_min`` (scaled units)."""
    prior = gpytorch.priors.GammaPrior(1.1, 0.05) if priors else None
    return gpytorch.likelihoods.GaussianLikelihood(
        noise_prior=prior, noise_constraint=gpytorch.constraints.GreaterThan(noise_min)
    )


MEANS = ("constant", "linear")


def make_mean(mean: str, d: int) -> gpytorch.means.Mean:
    """Prior mean: ``"constant"`` or ``"linear"`` (``w·z + b``, so the GP extrapolates a trend)."""
    if mean == "constant":
        return gpytorch.means.ConstantMean()
    if mean == "linear":
        return gpytorch.means.LinearMean(d)
    raise ConfigError(f"unknown GP mean {mean!r}; expected one of {MEANS}")


class _ExactModule(gpytorch.models.ExactGP):
    """Prior mean + scaled kernel; the data are passed to :meth:`forward` directly."""

    def __init__(
        self,
        covar: gpytorch.kernels.Kernel,
        likelihood: gpytorch.likelihoods.Likelihood,
        mean: gpytorch.means.Mean,
    ):
        super().__init__(None, None, likelihood)
        self.mean_module = mean
        self.covar_module = covar

    def forward(self, z: torch.Tensor) -> MultivariateNormal:
        return MultivariateNormal(self.mean_module(z), self.covar_module(z))


class _SparseModule(gpytorch.models.ApproximateGP):
    """SVGP: whitened variational strategy over learnable inducing points `(M, d)`."""

    def __init__(
        self, covar: gpytorch.kernels.Kernel, inducing: torch.Tensor, mean: gpytorch.means.Mean
    ):
        dist = gpytorch.variational.CholeskyVariationalDistribution(inducing.shape[0])
        strategy = gpytorch.variational.VariationalStrategy(
            self, inducing, dist, learn_inducing_locations=True
        )
        super().__init__(strategy)
        self.mean_module = mean
        self.covar_module = covar

    def forward(self, z: torch.Tensor) -> MultivariateNormal:
        return MultivariateNormal(self.mean_module(z), self.covar_module(z))


def jittered_cholesky(a: torch.Tensor, *, jitter: float = 1e-8, tries: int = 8) -> torch.Tensor:
    """Lower Cholesky factor of a symmetric matrix, adding diagonal jitter until it works.

    The jitter starts at ``jitter`` times the mean diagonal and grows tenfold
    per try; a matrix that still fails raises :class:`NotPSDError` naming it.
    """
    factor, info = torch.linalg.cholesky_ex(a)
    if int(info.max()) == 0:
        return factor
    scale = float(a.diagonal(dim1=-2, dim2=-1).abs().mean()) or 1.0
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    for k in range(tries):
        factor, info = torch.linalg.cholesky_ex(a + eye * scale * jitter * 10.0**k)
        if int(info.max()) == 0:
            return factor
    raise NotPSDError(f"matrix {tuple(a.shape)} is not positive definite even with jitter")


class GPHead(torch.nn.Module):
    """A trainable GP on feature vectors `(n, d)`, exact or sparse variational.

    Args:
        d: Feature dimension.
        kind: ``"exact"`` or ``"svgp"``.
        kernel: ``"rbf"``, ``"matern52"`` or ``"matern32"``.
        inducing: Initial inducing points `(M, d)` (``"svgp"`` only).
        noise_min: Lower bound of the noise variance (scaled target units).
        priors: Put Gamma priors on lengthscale, outputscale and noise.
        mean: Prior mean, ``"constant"`` or ``"linear"``.
    """

    def __init__(
        self,
        d: int,
        *,
        kind: str = "exact",
        kernel: str = "rbf",
        inducing: torch.Tensor | None = None,
        noise_min: float = 1e-4,
        priors: bool = True,
        mean: str = "constant",
    ) -> None:
        super().__init__()
        self.kind = kind
        self.kernel_name = kernel
        self.likelihood = make_likelihood(noise_min=noise_min, priors=priors)
        covar = make_kernel(kernel, d, priors=priors)
        if kind == "exact":
            self.gp: gpytorch.models.GP = _ExactModule(covar, self.likelihood, make_mean(mean, d))
        elif kind == "svgp":
            if inducing is None:
                raise ConfigError("an svgp head needs initial inducing points")
            self.gp = _SparseModule(covar, inducing, make_mean(mean, d))
        else:
            raise ConfigError(f"unknown gp kind {kind!r}; expected 'exact' or 'svgp'")
        # Conditioned state of the exact posterior (set by ``condition``).
        self._z: torch.Tensor | None = None
        self._chol: torch.Tensor | None = None
        self._alpha: torch.Tensor | None = None
        self._y: torch.Tensor | None = None

    # ---- training
    def objective(self, name: str, n_data: int) -> gpytorch.mlls.MarginalLogLikelihood:
        """The GPyTorch objective ``"mll"`` (exact), ``"elbo"`` or ``"pll"`` (svgp)."""
        if self.kind == "exact":
            if name != "mll":
                raise ConfigError(f"an exact GP trains on objective 'mll', got {name!r}")
            return gpytorch.mlls.ExactMarginalLogLikelihood(self.likelihood, self.gp)
        if name == "elbo":
            return gpytorch.mlls.VariationalELBO(self.likelihood, self.gp, num_data=n_data)
        if name == "pll":
            return gpytorch.mlls.PredictiveLogLikelihood(self.likelihood, self.gp, num_data=n_data)
        raise ConfigError(f"an svgp trains on objective 'elbo' or 'pll', got {name!r}")

    def loss(self, mll: gpytorch.mlls.MarginalLogLikelihood, z: torch.Tensor, y: torch.Tensor):
        """Negative objective per data point (a scalar tensor)."""
        out = self.gp.forward(z) if self.kind == "exact" else self.gp(z)
        return -mll(out, y)

    # ---- hyperparameters
    @property
    def noise(self) -> float:
        """Noise variance (scaled units)."""
        return float(self.likelihood.noise.detach().reshape(-1)[0])

    @property
    def outputscale(self) -> float:
        """Kernel output variance (scaled units)."""
        return float(self.gp.covar_module.outputscale.detach())

    @property
    def lengthscale(self) -> torch.Tensor:
        """Lengthscales `(d,)`."""
        return self.gp.covar_module.base_kernel.lengthscale.detach().reshape(-1)

    def prior_mean(self, z: torch.Tensor) -> torch.Tensor:
        """Prior mean at features `(n, d)` (scaled units), `(n,)`."""
        return self.gp.mean_module(z).reshape(-1)

    def kern(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Dense kernel matrix `(len(a), len(b))`."""
        return self.gp.covar_module(a, b).to_dense()

    # ---- exact conditioning
    def condition(self, z: torch.Tensor, y: torch.Tensor) -> None:
        """Factor ``K + σ²I`` of the training features `(n, d)` and targets `(n,)`."""
        if self.kind != "exact":
            return
        with torch.no_grad():
            k = self.kern(z, z)
            k = k + self.noise * torch.eye(len(z), dtype=k.dtype, device=k.device)
            self._chol = jittered_cholesky(k)
            resid = (y - self.prior_mean(z)).unsqueeze(-1)
            self._alpha = torch.cholesky_solve(resid, self._chol).squeeze(-1)
            self._z = z
            self._y = y

    # ---- posterior
    def _exact_parts(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ks = self.kern(z, self._z)
        mean = self.prior_mean(z) + ks @ self._alpha
        v = torch.linalg.solve_triangular(self._chol, ks.T, upper=False)
        return mean, v

    def mvn(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint posterior mean `(N,)` and covariance `(N, N)` of the latent function.

        Differentiable in ``z`` (used by the BoTorch posterior).
        """
        if self.kind == "exact":
            mean, v = self._exact_parts(z)
            return mean, self.kern(z, z) - v.T @ v
        self.gp.eval()
        out = self.gp(z)
        return out.mean, out.covariance_matrix

    @torch.no_grad()
    def predict(
        self, z: torch.Tensor, *, chunk_size: int, include_noise: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance `(N,)` each, in chunks of ``chunk_size`` rows."""
        means, variances = [], []
        self.gp.eval()
        for start in range(0, len(z), chunk_size):
            zc = z[start : start + chunk_size]
            if self.kind == "exact":
                mean, v = self._exact_parts(zc)
                var = self.outputscale - (v * v).sum(0)
            else:
                with gpytorch.settings.fast_pred_var(False):
                    out = self.gp(zc)
                mean, var = out.mean, out.variance
            means.append(mean)
            variances.append(var.clamp_min(0.0) + (self.noise if include_noise else 0.0))
        return torch.cat(means), torch.cat(variances)

    @torch.no_grad()
    def joint_samples(self, z: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
        """Exact joint draws `(n, N)` of the latent function at ``z``."""
        if len(z) > MAX_JOINT:
            raise ConfigError(
                f"joint sampling builds an (N, N) covariance; N={len(z)} exceeds {MAX_JOINT}. "
                "Use method='pathwise' (joint-consistent, O(N) memory) instead"
            )
        mean, cov = self.mvn(z)
        factor = jittered_cholesky(0.5 * (cov + cov.T), jitter=1e-9)
        eps = torch.randn(len(z), n, generator=gen, dtype=z.dtype, device=z.device)
        return (mean.unsqueeze(-1) + factor @ eps).T

    @torch.no_grad()
    def pathwise_samples(
        self, z: torch.Tensor, n: int, gen: torch.Generator, *, n_features: int, chunk_size: int
    ) -> torch.Tensor:
        """Matheron's-rule draws `(n, N)`: a random-Fourier prior function updated by the data.

        ``f(x) = m + f̃(x) + k(x, X)(K + σ²I)⁻¹(y − m − f̃(X) − ε)``, ``ε ~ N(0, σ²)``
        (exact GP); for the SVGP the inducing values ``u ~ q(u)`` replace the
        data: ``f(x) = m + f̃(x) + k(x, U) K_UU⁻¹(u − m − f̃(U))``.
        """
        d = z.shape[-1]
        kw = {"dtype": z.dtype, "device": z.device}
        omega = torch.randn(d, n_features, generator=gen, **kw)
        if self.kernel_name != "rbf":
            # Matérn-ν spectral density: a Student-t with 2ν (= 5 or 3) degrees of freedom.
            dof = 5 if self.kernel_name == "matern52" else 3
            chi2 = torch.randn(dof, n_features, generator=gen, **kw).pow(2).sum(0)
            omega = omega / (chi2 / dof).sqrt()
        omega = omega / self.lengthscale.to(**kw).unsqueeze(-1)
        phase = 2 * math.pi * torch.rand(n_features, generator=gen, **kw)
        weights = torch.randn(n_features, n, generator=gen, **kw)
        amp = math.sqrt(2.0 * self.outputscale / n_features)

        def prior(x: torch.Tensor) -> torch.Tensor:
            return amp * torch.cos(x @ omega + phase) @ weights

        if self.kind == "exact":
            anchor = self._z
            eps = math.sqrt(self.noise) * torch.randn(len(anchor), n, generator=gen, **kw)
            resid = (self._y - self.prior_mean(anchor)).unsqueeze(-1) - prior(anchor) - eps
            update = torch.cholesky_solve(resid, self._chol)
        else:
            strategy = self.gp.variational_strategy
            anchor = strategy.inducing_points
            kuu = self.kern(anchor, anchor)
            luu = jittered_cholesky(kuu, jitter=1e-6)
            qv = strategy._variational_distribution
            mv = qv.variational_mean
            lv = torch.tril(qv.chol_variational_covar)
            v = mv.unsqueeze(-1) + lv @ torch.randn(len(mv), n, generator=gen, **kw)
            u = luu @ v  # whitened: u − m(U) = L_UU v
            update = torch.cholesky_solve(u - prior(anchor), luu)
        out = []
        for start in range(0, len(z), chunk_size):
            zc = z[start : start + chunk_size]
            out.append(
                self.prior_mean(zc).unsqueeze(-1) + prior(zc) + self.kern(zc, anchor) @ update
            )
        return torch.cat(out).T


# --------------------------------------------------------------------------- BoTorch


class FeaturePosteriorModel(Model):
    """A BoTorch :class:`Model` over the GP feature space of a fitted surrogate.

    ``posterior(X)`` takes ``X``: a `batch_shape x q x d`-dim tensor of GP
    features (the rows of :attr:`candidates` are the pool's) and returns a
    :class:`GPyTorchPosterior` in original target units, so any analytic or
    Monte-Carlo BoTorch acquisition function evaluates on it.

    Args:
        head: A conditioned :class:`GPHead`.
        candidates: GP features of the pool, `(N, d)`.
        center: Target centre (original units).
        scale: Target scale (original units per scaled unit).
    """

    def __init__(
        self, head: GPHead, candidates: torch.Tensor, *, center: float, scale: float
    ) -> None:
        super().__init__()
        self._head = head
        self._center = center
        self._scale = scale
        self.candidates = candidates.unsqueeze(-2)
        """Pool features as a ready ``X``: `N x 1 x d`."""

    @property
    def num_outputs(self) -> int:
        """One output."""
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        """No model batch."""
        return torch.Size([])

    def posterior(
        self,
        X: torch.Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | torch.Tensor = False,
        posterior_transform: Any = None,
    ) -> GPyTorchPosterior:
        """Joint posterior over the ``q`` points of each batch of `batch_shape x q x d` ``X``."""
        if output_indices not in (None, [0]):
            raise ConfigError("this model has a single output (index 0)")
        batch, q, d = X.shape[:-2], X.shape[-2], X.shape[-1]
        flat = X.reshape(-1, q, d)
        means, covs = [], []
        with quiet_numerics():
            for xb in flat:
                mean, cov = self._head.mvn(xb)
                if observation_noise is True:
                    cov = cov + self._head.noise * torch.eye(q, dtype=cov.dtype, device=cov.device)
                means.append(mean)
                covs.append(cov)
        mean = torch.stack(means).reshape(*batch, q) * self._scale + self._center
        cov = torch.stack(covs).reshape(*batch, q, q) * self._scale**2
        eye = torch.eye(q, dtype=cov.dtype, device=cov.device)
        cov = 0.5 * (cov + cov.transpose(-1, -2)) + 1e-12 * self._scale**2 * eye
        posterior = GPyTorchPosterior(MultivariateNormal(mean, cov))
        if posterior_transform is not None:
            return posterior_transform(posterior)
        return posterior


def retry_not_psd(step: Any, *, where: str) -> Any:
    """Run ``step()`` under growing Cholesky jitter until it does not raise ``NotPSDError``."""
    last: Exception | None = None
    for jitter in (None, 1e-6, 1e-4, 1e-2):
        try:
            if jitter is None:
                return step()
            with gpytorch.settings.cholesky_jitter(float_value=jitter, double_value=jitter):
                with gpytorch.settings.variational_cholesky_jitter(
                    float_value=max(jitter, 1e-4), double_value=jitter
                ):
                    return step()
        except NotPSDError as err:
            last = err
    raise DataError(f"{where}: kernel matrix not positive definite even with jitter 1e-2: {last}")


# --------------------------------------------------------------------------- shared surrogate


class GPSurrogateMixin:
    """Prediction, sampling and BoTorch access shared by the GP surrogates.

    A subclass sets ``head_`` (a conditioned :class:`GPHead`), ``target_``
    (a :class:`TargetScale`), ``device``, ``chunk_size``, ``n_rff`` and
    ``num_threads``, and implements :meth:`_transform` (inputs → GP features).
    """

    head_: GPHead | None
    target_: TargetScale | None
    device: str
    chunk_size: int
    n_rff: int
    num_threads: int | None

    def _transform(self, x: np.ndarray) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> tuple[GPHead, TargetScale]:
        if self.head_ is None or self.target_ is None:
            raise ConfigError(f"{type(self).__name__} is not fitted; call fit(x, y) first")
        return self.head_, self.target_

    def predict(
        self, x: np.ndarray, *, include_noise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation `(N,)` each, in target units.

        Args:
            x: Candidate inputs `(N, ...)`, as passed to ``fit``.
            include_noise: Add the likelihood noise to the variance.

        Returns:
            ``(mean, std)``, each `(N,)` float64.
        """
        head, target = self._check_fitted()
        with torch_threads(self.num_threads), quiet_numerics():
            z = self._transform(x)
            mean, var = head.predict(z, chunk_size=self.chunk_size, include_noise=include_noise)
        mean = mean.cpu().numpy().astype(np.float64) * target.scale + target.center
        std = np.sqrt(var.cpu().numpy().astype(np.float64)) * target.scale
        return mean, std

    def sample(
        self,
        x: np.ndarray,
        *,
        n_samples: int = 1,
        rng: np.random.Generator,
        method: str = "pathwise",
    ) -> np.ndarray:
        """Posterior draws of the latent function at ``x``, `(n_samples, N)`, target units.

        Args:
            x: Candidate inputs `(N, ...)`.
            n_samples: Number of draws.
            rng: Seeds the draws (a torch generator is derived from it).
            method: ``"marginal"`` (independent per candidate), ``"joint"``
                (exact, ``N <= 5000``) or ``"pathwise"`` (random Fourier
                features + Matheron's rule, O(N) memory).
        """
        head, target = self._check_fitted()
        if method not in ("marginal", "joint", "pathwise"):
            raise ConfigError(
                f"unknown sampling method {method!r}; expected 'marginal', 'joint' or 'pathwise'"
            )
        if int(n_samples) < 1:
            raise ConfigError(f"n_samples must be >= 1, got {n_samples!r}")
        n = int(n_samples)
        dev = resolve_device(self.device)
        gen = torch_generator(rng, dev)
        with torch_threads(self.num_threads), quiet_numerics():
            z = self._transform(x)
            if method == "marginal":
                mean, var = head.predict(z, chunk_size=self.chunk_size, include_noise=False)
                eps = torch.randn(n, len(z), generator=gen, dtype=z.dtype, device=z.device)
                draws = mean + var.sqrt() * eps
            elif method == "joint":
                draws = head.joint_samples(z, n, gen)
            else:
                draws = head.pathwise_samples(
                    z, n, gen, n_features=self.n_rff, chunk_size=self.chunk_size
                )
        return draws.cpu().numpy().astype(np.float64) * target.scale + target.center

    def botorch_model(self, x: np.ndarray) -> FeaturePosteriorModel:
        """A BoTorch model whose ``X`` lives in this surrogate's GP feature space.

        Args:
            x: Candidate inputs `(N, ...)` (the pool).

        Returns:
            A :class:`FeaturePosteriorModel`; its ``candidates`` (`N x 1 x d`)
            is the pool as an ``X`` for an acquisition function.
        """
        head, target = self._check_fitted()
        with torch_threads(self.num_threads), quiet_numerics():
            z = self._transform(x)
        return FeaturePosteriorModel(head, z, center=target.center, scale=target.scale)

    def _health(self, z: torch.Tensor, y: torch.Tensor, collapse_tol: float) -> dict[str, float]:
        """Hyperparameters and the collapse rule on the training features `(n, d)`.

        ``feature_spread`` is the largest, over feature dimensions, of the
        standard deviation of the training features divided by that
        dimension's lengthscale; ``mean_spread`` is the standard deviation of
        the posterior mean at the training inputs divided by that of the
        (scaled) targets. ``collapsed`` is 1.0 when ``feature_spread < 0.5``
        (all training features lie within half a lengthscale: the RBF kernel
        correlates every pair above 0.88 and the GP can only return a nearly
        flat mean) or ``mean_spread < collapse_tol`` (the model predicts a
        constant), else 0.0. The 0.5 was calibrated on BEPS loop-height
        campaigns: the published recipe's features spanned 0.0–0.24
        lengthscales (RMSE no better than a constant), ours 1.7–2.2.
        """
        head = self.head_
        assert head is not None
        with torch.no_grad():
            ls = head.lengthscale.to(z)
            spread = float((z.std(0) / ls).max()) if len(z) > 1 else 0.0
            mean, _ = head.predict(z, chunk_size=self.chunk_size, include_noise=False)
            y_sd = float(y.std())
            mean_spread = float(mean.std()) / y_sd if y_sd > 0 else float("nan")
        collapsed = spread < 0.5 or (mean_spread == mean_spread and mean_spread < collapse_tol)
        return {
            "noise": head.noise,
            "outputscale": head.outputscale,
            "lengthscale": float(ls.median()),
            "feature_spread": spread,
            "mean_spread": mean_spread,
            "collapsed": 1.0 if collapsed else 0.0,
        }
