"""The GP over composition that policies and the monitor of a library share.

An exact GP (:class:`~autoscope.models.gp.ExactGP`, Matérn-5/2 ARD, float64)
on the D − 1 free coordinates of the composition simplex, fixed unit-cube
bounds, warm-started from its previous fit. Its hyperparameters are
re-optimised (``iterations`` Adam steps) on every ``refit_every``-th fit and
the posterior is only re-conditioned on the new data in between: a library
campaign fits once per measurement, the hyperparameters barely move from one
point to the next, and this cuts the GP time of a 300-step run about
fivefold (see ``benchmarks/bench_library.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import ConfigError
from autoscope.library.simplex import free_coordinates

__all__ = ["CompositionGP"]


class CompositionGP:
    """A warm-started GP from compositions `(n, D)` to a property `(n,)`.

    Args:
        n_components: D.
        iterations: Adam steps of a re-optimising fit.
        first_iterations: Adam steps of the first fit.
        refit_every: Re-optimise the hyperparameters on every this-many-th fit
            (1 = every fit); other fits only condition on the data.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> c = rng.dirichlet(np.ones(3), 20)
        >>> gp = CompositionGP(3).fit(c, np.sin(5 * c[:, 0]))
        >>> [a.shape for a in gp.predict(c[:4])]
        [(4,), (4,)]
    """

    def __init__(
        self,
        n_components: int,
        *,
        iterations: int = 10,
        first_iterations: int = 60,
        refit_every: int = 5,
    ) -> None:
        if iterations < 0 or first_iterations < 0 or refit_every < 1:
            raise ConfigError(
                "CompositionGP: iterations and first_iterations must be >= 0, refit_every >= 1"
            )
        self.n_components = int(n_components)
        self.iterations = int(iterations)
        self.first_iterations = int(first_iterations)
        self.refit_every = int(refit_every)
        self.n_fits_ = 0
        self._gp: Any = None

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` was called."""
        return self._gp is not None and self._gp.head_ is not None

    def _model(self) -> Any:
        if self._gp is None:
            from autoscope.models.gp import ExactGP

            d = self.n_components - 1
            self._gp = ExactGP(bounds=np.array([[0.0] * d, [1.0] * d]), seed=0)
        return self._gp

    def fit(self, compositions: np.ndarray, values: np.ndarray) -> CompositionGP:
        """Fit on compositions `(n, D)` and values `(n,)` (n >= 2); returns ``self``."""
        model = self._model()
        if self.n_fits_ == 0:
            model.iterations = self.first_iterations
        elif self.n_fits_ % self.refit_every == 0:
            model.iterations = self.iterations
        else:
            model.iterations = 0
        model.fit(free_coordinates(compositions), values)
        self.n_fits_ += 1
        return self

    def predict(self, compositions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at compositions `(m, D)`, each `(m,)`."""
        return self._model().predict(free_coordinates(compositions))

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue identically."""
        return {"gp": self._gp.state_dict(), "n_fits": self.n_fits_} if self.fitted else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        if not state:
            return
        self._model().load_state_dict(state["gp"])
        self.n_fits_ = int(state["n_fits"])
