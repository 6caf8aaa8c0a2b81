import numpy as np
import pytest
from skimage.draw import disk

from autoscope.analysis.search import search
from autoscope.analysis.workflows import (
    WORKFLOWS,
    AtomsWorkflow,
    ParticlesWorkflow,
    WallsWorkflow,
    make_workflow,
)
from autoscope.errors import ConfigError
from autoscope.metrics.detection import match_detections


def blob_lattice(shape=(96, 96), spacing=8.0, sigma=1.4, seed=0, noise=0.02):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    centres = np.array(
        [
            (r, c)
            for r in np.arange(4, shape[0] - 2, spacing)
            for c in np.arange(4, shape[1] - 2, spacing)
        ]
    )
    image = np.zeros(shape)
    for r, c in centres:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    image += noise * np.random.default_rng(seed).standard_normal(shape)
    return image, centres


def domain_image(shape=(96, 96), seed=0):
    """Two vertical straight walls (stripes) plus noise."""
    image = np.zeros(shape)
    image[:, 32:64] = 1.0
    return image + 0.05 * np.random.default_rng(seed).standard_normal(shape)


def particle_image(shape=(96, 96), radius=6, seed=0):
    image = np.zeros(shape)
    rng = np.random.default_rng(seed)
    for r in range(12, shape[0] - 8, 24):
        for c in range(12, shape[1] - 8, 24):
            image[disk((r + rng.integers(-2, 3), c + rng.integers(-2, 3)), radius, shape=shape)] = 1
    return image + 0.05 * rng.standard_normal(shape)


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_workflow_declares_a_valid_space_and_objectives(name):
    options = {"diameter": 10.0} if name == "particles" else {}
    workflow = make_workflow(name, **options)
    assert len(workflow.objectives) >= 2
    assert {o.direction for o in workflow.objectives} <= {"max", "min"}
    for row in workflow.space.describe():
        assert row["name"] and row["kind"] in ("float", "int", "choice")
    # the extremes of the space never crash an operator
    image = {"atoms": blob_lattice()[0], "walls": domain_image(), "particles": particle_image()}[
        name
    ]
    context = workflow.prepare(image)
    for corner in (0.0, 1.0):
        params = workflow.space.from_unit(np.full(len(workflow.space), corner))
        rewards = workflow.evaluate(image, params, context)
        assert set(rewards) == {o.name for o in workflow.objectives}


def test_atom_search_finds_the_lattice():
    image, centres = blob_lattice()
    workflow = AtomsWorkflow()
    result = search(workflow, image, population=24, generations=6, seed=0)
    assert result.context["spacing"] == pytest.approx(8.0, rel=0.02)
    best = result.evaluations[result.knee]
    assert best.rewards["count"] > -0.1
    assert best.rewards["geometric_error"] < 0.05
    found = workflow.run(image, result.pick(), result.context)
    score = match_detections(found[:, :2], centres, radius=1.0)
    assert score.f1 > 0.9


def test_wall_search_prefers_the_straight_walls():
    image = domain_image()
    result = search(WallsWorkflow(), image, population=20, generations=5, seed=0)
    straightest = max(result.front(), key=lambda e: e.rewards["straightness"])
    assert straightest.rewards["straightness"] > 0.95
    assert straightest.rewards["wall_length"] > 100  # two walls of 96 px


def test_particle_search_recovers_sizes():
    image = particle_image()
    workflow = ParticlesWorkflow(diameter=12.0, diameter_std=1.0)
    result = search(workflow, image, population=20, generations=5, seed=0)
    best = min(result.front(), key=lambda e: e.rewards["size_distance"])
    assert best.rewards["size_distance"] < 1.5
    masks = workflow.run(image, best.params, result.context)
    assert 12 <= len(masks) <= 20  # 16 discs


def test_workflow_options_are_checked():
    with pytest.raises(ConfigError, match="unknown task"):
        make_workflow("cells")
    with pytest.raises(ConfigError, match="diameter"):
        make_workflow("particles")
    with pytest.raises(ConfigError, match="diameter must be > 0"):
        ParticlesWorkflow(diameter=0)
    with pytest.raises(ConfigError, match="generator"):
        ParticlesWorkflow(diameter=5, generator="sam")
    with pytest.raises(ConfigError, match="objectives"):
        WallsWorkflow(objectives=("straightness",))
    with pytest.raises(ConfigError, match="atoms_per_cell"):
        AtomsWorkflow(atoms_per_cell=0)


def test_no_atoms_found_is_scored_worst_not_an_error():
    from autoscope.analysis.lattice import lattice_from_constants

    noise = np.random.default_rng(3).random((64, 64))
    workflow = AtomsWorkflow(lattice=lattice_from_constants(8, 8, 90, pixel_size=1))
    context = workflow.prepare(noise)
    params = workflow.space.from_unit(np.ones(len(workflow.space)))  # highest threshold
    found = workflow.run(noise, {**params, "threshold": 10.0}, context)
    assert found.shape == (0, 3)
    rewards = workflow.rewards(found, context)
    assert rewards["count"] == -1.0 and rewards["geometric_error"] >= 1.0
    summary = workflow.summary(noise, found, context)
    assert summary["count"] == 0 and summary["bright_columns"] == []


def test_an_image_without_a_lattice_gets_a_specific_error():
    from autoscope.errors import DataError

    noise = np.random.default_rng(3).random((64, 64))
    with pytest.raises(DataError, match="lattice"):
        AtomsWorkflow().prepare(noise)


def test_perfect_simulated_lattice_scores_zero_on_both_rewards():
    from autoscope.analysis.atoms import find_atoms
    from autoscope.analysis.rewards import count_reward, geometric_error
    from autoscope.gym import simulate_lattice_image

    sim = simulate_lattice_image((128, 128), basis=((0.0, 0.0, 38),), margin_A=2.0, seed=0)
    found = find_atoms(sim.image, sigma_min=2.0, sigma_max=4.0, threshold=0.05)
    assert count_reward(len(found), len(sim.positions_px)) == 0.0
    error = geometric_error(found, spacing=3.905 / 0.2, image_shape=sim.image.shape)
    assert error.total == 0.0
    assert match_detections(found[:, :2], sim.positions_px, radius=0.5).f1 == 1.0
