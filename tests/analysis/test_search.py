import logging
import math

import numpy as np
import pytest

from autoscope.analysis.search import (
    PENALTY,
    hypervolume,
    knee_index,
    minimize,
    pareto_mask,
    search,
    search_windows,
)
from autoscope.analysis.space import Parameter, ParameterSpace
from autoscope.analysis.workflows import Objective, Workflow
from autoscope.errors import ConfigError


def zdt1(u: np.ndarray) -> np.ndarray:
    f1 = u[:, 0]
    g = 1 + 9 * u[:, 1:].mean(axis=1)
    return np.column_stack([f1, g * (1 - np.sqrt(f1 / g))])


def test_nsga2_recovers_the_zdt1_front():
    seen = []

    def fun(u, generation):
        losses = zdt1(u)
        seen.append(losses)
        return losses

    minimize(fun, 30, 2, population=100, generations=200, seed=1)
    losses = np.concatenate(seen)
    front = losses[pareto_mask(losses)]
    assert hypervolume(front, (1.0, 1.0)) >= 0.65  # the true front's is 2/3


def test_pareto_mask_and_knee_by_hand():
    losses = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.6, 0.6], [0.5, 0.5]])
    assert pareto_mask(losses).tolist() == [True, True, True, False, False]
    assert knee_index(losses[:3]) == 1
    assert hypervolume(np.array([[0.5, 0.5]]), (1.0, 1.0)) == pytest.approx(0.25)
    assert hypervolume(np.array([[2.0, 0.5]]), (1.0, 1.0)) == 0.0


class Toy(Workflow):
    """x and y in [0, 1]; losses x and 1 - sqrt(x) + y; y > 0.7 raises, x < 0.1 gives NaN."""

    name = "toy"
    objectives = (Objective("a", "min"), Objective("b", "max"))

    def __init__(self) -> None:
        self.calls = 0

    @property
    def space(self):
        return ParameterSpace(
            [Parameter("x"), Parameter("y"), Parameter("k", kind="int", low=0, high=2)]
        )

    def prepare(self, image):
        return {"mean": float(image.mean())}

    def run(self, image, params, context):
        self.calls += 1
        if params["y"] > 0.7:
            raise RuntimeError("operator failed")
        return params

    def rewards(self, result, context):
        x, y = result["x"], result["y"]
        b = float("nan") if x < 0.1 else -(1 - math.sqrt(x) + y)
        return {"a": x, "b": b}

    def shift(self, result, offset, shape):
        return [offset]

    def merge(self, results):
        return [r for part in results for r in part]


IMAGE = np.random.default_rng(0).random((32, 32))


def test_search_penalises_failures_and_goes_on(caplog):
    with caplog.at_level(logging.WARNING, logger="autoscope.analysis"):
        result = search(Toy(), IMAGE, population=20, generations=5, seed=3)
    failed = [e for e in result.evaluations if e.penalised]
    assert failed and all(
        "operator failed" in e.message or "non-finite" in e.message for e in failed
    )
    assert "penalised" in caplog.text
    assert (result.losses()[[result.evaluations.index(e) for e in failed]] == PENALTY).all()
    front = result.front()
    assert front and not any(e.penalised for e in front)
    assert all(e.params["y"] < 0.5 for e in front)  # y only hurts
    assert result.pick() == result.evaluations[result.knee].params
    assert result.pick(0) == front[0].params
    with pytest.raises(ConfigError, match="out of range"):
        result.pick(len(front))
    assert len(result.hypervolume) == 5
    assert np.all(np.diff(result.hypervolume) >= -1e-12)
    assert result.evaluations_per_generation[-1] == len(result.evaluations)


def test_repeated_parameter_vectors_are_evaluated_once():
    workflow = Toy()
    result = search(workflow, IMAGE, population=20, generations=5, seed=3)
    keys = [tuple(sorted(e.params.items())) for e in result.evaluations]
    assert len(keys) == len(set(keys)) == workflow.calls


def test_same_seed_same_front_and_seed_matters():
    a = search(Toy(), IMAGE, population=16, generations=4, seed=5)
    b = search(Toy(), IMAGE, population=16, generations=4, seed=5)
    c = search(Toy(), IMAGE, population=16, generations=4, seed=6)
    assert [e.params for e in a.evaluations] == [e.params for e in b.evaluations]
    assert [e.params for e in a.evaluations] != [e.params for e in c.evaluations]


def test_process_pool_gives_the_same_result():
    serial = search(Toy(), IMAGE, population=12, generations=2, seed=2)
    pooled = search(Toy(), IMAGE, population=12, generations=2, seed=2, workers=2)
    assert [e.params for e in serial.evaluations] == [e.params for e in pooled.evaluations]
    assert [e.rewards for e in serial.front()] == [e.rewards for e in pooled.front()]


def test_qnehvi_runs_behind_the_same_interface():
    result = search(
        Toy(), IMAGE, optimizer="qnehvi", generations=2, batch_size=3, seed=0, n_initial=6
    )
    assert result.evaluations_per_generation[0] == 6
    assert len(result.evaluations) <= 12
    assert result.optimizer == "qnehvi" and result.pareto


def test_sliding_windows_cover_the_image():
    results, merged = search_windows(
        Toy(), np.random.default_rng(1).random((40, 50)), window=20, population=8, generations=2
    )
    assert [r.offset for r in results] == [(0, 0), (0, 20), (0, 30), (20, 0), (20, 20), (20, 30)]
    assert merged == [r.offset for r in results]


def test_bad_options():
    with pytest.raises(ConfigError, match="unknown optimizer"):
        search(Toy(), IMAGE, optimizer="cmaes")
    with pytest.raises(ConfigError, match="population"):
        search(Toy(), IMAGE, population=1)
    with pytest.raises(ConfigError, match="workers"):
        search(Toy(), IMAGE, workers=0)
    with pytest.raises(ConfigError, match="larger than the image"):
        search_windows(Toy(), IMAGE, window=64)


def test_every_candidate_failing_is_an_error():
    class Broken(Toy):
        def run(self, image, params, context):
            raise ValueError("nothing works")

    with pytest.raises(ConfigError, match="nothing works"):
        search(Broken(), IMAGE, population=4, generations=1)
