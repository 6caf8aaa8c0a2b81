"""Analysts: turn the scanned mosaic into findings (columns, defects, phases, particles).

* :mod:`autoscope.gym.analysts.base` — :class:`Findings`, the incremental :class:`Analyst`
  base class and the registry (:func:`make_analyst`).
* :mod:`autoscope.gym.analysts.classical` — ``"classical"``: peak finding and intensity rules.
* :mod:`autoscope.gym.analysts.cnn` — ``"cnn"``: a learned analyst (needs torch; imported
  only when made).
"""

from __future__ import annotations

from autoscope.gym.analysts.base import (
    ANALYSTS,
    Analyst,
    Findings,
    TileFindings,
    make_analyst,
    register_analyst,
)

__all__ = ["ANALYSTS", "Analyst", "Findings", "TileFindings", "make_analyst", "register_analyst"]
