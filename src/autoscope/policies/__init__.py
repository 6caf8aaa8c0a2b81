"""Policies: strategies that choose where to measure next.

Every policy is registered by name in :data:`POLICIES` and built with
:func:`make_policy`.
"""

from autoscope.policies import baselines as baselines
from autoscope.policies import curiosity as curiosity
from autoscope.policies import model_based as model_based
from autoscope.policies.base import (
    POLICIES,
    CampaignState,
    Policy,
    Suggestion,
    make_policy,
    register_policy,
    select_top,
)

__all__ = [
    "POLICIES",
    "CampaignState",
    "Policy",
    "Suggestion",
    "make_policy",
    "register_policy",
    "select_top",
]

# Registers the particle-library policies (library-cost-aware, ...); imported last
# because autoscope.library.policies builds on the names above.
from autoscope.library import policies as library_policies  # noqa: E402, F401
