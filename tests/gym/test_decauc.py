"""DEC-AUC and the per-step reward whose sum equals it."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import autoscope.gym.decauc as decauc_module
from autoscope.errors import ConfigError
from autoscope.gym.decauc import dec_auc, dec_reward


def test_one_step_to_perfect_at_a_quarter_of_the_budget():
    assert dec_auc([1.0], [0.25]) == pytest.approx(0.75)
    assert dec_reward(0.0, 1.0, 0.25) == pytest.approx(0.75)


def test_doing_nothing_scores_zero():
    assert dec_auc([], []) == 0.0
    assert dec_auc([0.0, 0.0, 0.0], [0.1, 0.5, 1.0]) == 0.0


def test_oracle_at_tiny_dose_scores_almost_one():
    assert dec_auc([1.0], [1e-6]) == pytest.approx(1.0, abs=1e-5)


def test_area_of_a_hand_drawn_step_curve():
    # S = 0.2 on [0.1, 0.4), 0.6 on [0.4, 0.8), 0.5 on [0.8, 1]:
    area = 0.2 * 0.3 + 0.6 * 0.4 + 0.5 * 0.2
    assert dec_auc([0.2, 0.6, 0.5], [0.1, 0.4, 0.8]) == pytest.approx(area)


def test_score_reached_at_the_end_of_the_budget_is_worth_nothing():
    assert dec_auc([1.0], [1.0]) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_sum_of_rewards_equals_dec_auc(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    scores = rng.uniform(0, 1, n)
    fractions = np.sort(rng.uniform(0, 1, n))
    previous, total = 0.0, 0.0
    for s, d in zip(scores, fractions, strict=True):
        total += dec_reward(previous, s, d)
        previous = s
    auc = dec_auc(scores, fractions)
    assert math.isclose(total, auc, rel_tol=1e-12, abs_tol=1e-15)
    assert -1.0 <= auc <= 1.0


def test_monotone_scores_give_an_area_in_unit_interval():
    rng = np.random.default_rng(3)
    scores = np.sort(rng.uniform(0, 1, 20))
    fractions = np.sort(rng.uniform(0, 1, 20))
    assert 0.0 <= dec_auc(scores, fractions) <= 1.0


@pytest.mark.parametrize(
    ("scores", "fractions", "match"),
    [
        ([0.5], [0.1, 0.2], "same length"),
        ([0.5, 1.5], [0.1, 0.2], "scores"),
        ([float("nan")], [0.1], "scores"),
        ([0.5], [1.5], "dose_fractions"),
        ([0.5, 0.6], [0.5, 0.2], "non-decreasing"),
        ([[0.5]], [[0.1]], "1-D"),
    ],
)
def test_invalid_input_is_rejected(scores, fractions, match):
    with pytest.raises(ConfigError, match=match):
        dec_auc(scores, fractions)


@pytest.mark.parametrize("args", [(0.0, 1.1, 0.5), (0.0, 0.5, -0.1), (float("inf"), 0.5, 0.5)])
def test_invalid_reward_arguments_are_rejected(args):
    with pytest.raises(ConfigError):
        dec_reward(*args)


def test_docstring_examples():
    result = doctest.testmod(decauc_module)
    assert result.failed == 0 and result.attempted > 0
