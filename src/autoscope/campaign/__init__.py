"""Campaigns: the ask/tell core, its driver and the durable run store."""

from autoscope.campaign.core import Budget, Campaign
from autoscope.campaign.driver import RetryPolicy, RunSummary, run_campaign
from autoscope.campaign.rundata import RunData
from autoscope.campaign.store import Event, RunStore

__all__ = [
    "Budget",
    "Campaign",
    "Event",
    "RetryPolicy",
    "RunData",
    "RunStore",
    "RunSummary",
    "run_campaign",
]
