"""The small CNN atom finder: training, determinism, persistence, detection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoscope.analysis.atomnet import (
    ATOMNET_VERSION,
    AtomNet,
    atomnet_training_set,
    find_atoms_cnn,
    heatmap_targets,
    load_atomnet,
    predict_heatmap,
    save_atomnet,
    train_atomnet,
)
from autoscope.errors import ConfigError, DataError
from autoscope.gym.haadf import simulate_lattice_image
from autoscope.metrics.detection import match_detections

TINY = dict(n_images=2, epochs=2, image_shape=(32, 32), crop=None, batch_size=2)


@pytest.fixture(scope="module")
def trained() -> AtomNet:
    # About 120 Adam steps on 64x64 images: a few seconds on one thread.
    return train_atomnet(n_images=16, epochs=60, image_shape=(64, 64), crop=None, seed=0)


def test_architecture_accepts_any_size():
    net = AtomNet(channels=(4, 6, 8))
    for shape in [(1, 1, 17, 23), (3, 1, 32, 32)]:
        assert tuple(net(torch.zeros(shape)).shape) == shape


def test_tiny_training_is_deterministic_and_restores_torch_state():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = train_atomnet(seed=3, **TINY)
    assert torch.equal(torch.rand(3), expected_next)  # global RNG untouched
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()
    b = train_atomnet(seed=3, **TINY)
    c = train_atomnet(seed=4, **TINY)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    assert a.meta["loss_history"] == b.meta["loss_history"]
    assert not a.training


def test_training_set_and_targets():
    images, truths = atomnet_training_set(3, image_shape=(48, 40), seed=1)
    again, _ = atomnet_training_set(3, image_shape=(48, 40), seed=1)
    assert images.shape == (3, 48, 40) and len(truths) == 3
    np.testing.assert_array_equal(images, again)
    assert all(t.shape[1] == 2 and len(t) > 0 for t in truths)
    noisy, _ = atomnet_training_set(2, image_shape=(32, 32), dose_e_per_A2=(1e3, 1e4), seed=0)
    assert np.all(noisy == np.round(noisy))
    target = heatmap_targets(np.array([[10.0, 12.5], [-30.0, 0.0]]), (20, 20), sigma_px=1.0)
    assert target.shape == (20, 20) and target.dtype == np.float32
    assert target[10, 12] == pytest.approx(np.exp(-0.125)) == target[10, 13]
    assert target.max() <= 1.0 and target[0].max() == 0.0


def test_trained_model_finds_columns(trained):
    history = trained.meta["loss_history"]
    assert history[-1] < 0.5 * history[0]
    sim = simulate_lattice_image((128, 128), seed=11)
    found = find_atoms_cnn(sim.image, trained)
    assert found.shape[1] == 2 and found.dtype == np.float64
    assert match_detections(found, sim.positions_px, radius=1.0).recall > 0.8
    # Detections are not much more numerous than the columns.
    assert len(found) <= 1.2 * len(sim.positions_px)
    prob = predict_heatmap(sim.image, trained)
    assert prob.shape == sim.image.shape and 0.0 <= prob.min() and prob.max() <= 1.0
    # Scale invariance: the image is standardised first.
    np.testing.assert_allclose(find_atoms_cnn(1e4 * sim.image + 3.0, trained), found, atol=1e-3)


def test_save_load_round_trip(trained, tmp_path):
    path = save_atomnet(trained, tmp_path / "net.pt")
    loaded = load_atomnet(path)
    assert loaded.channels == trained.channels
    assert loaded.target_sigma_px == trained.target_sigma_px
    assert loaded.meta["loss_history"] == trained.meta["loss_history"]
    for key, value in trained.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    sim = simulate_lattice_image((64, 64), seed=2)
    np.testing.assert_array_equal(
        find_atoms_cnn(sim.image, loaded), find_atoms_cnn(sim.image, trained)
    )


def test_bad_files_raise_data_error(tmp_path):
    net = AtomNet(channels=(4, 4, 4))
    good = save_atomnet(net, tmp_path / "good.pt")
    payload = torch.load(good, weights_only=True)

    wrong_version = tmp_path / "v.pt"
    torch.save({**payload, "version": ATOMNET_VERSION + 1}, wrong_version)
    with pytest.raises(DataError, match="version"):
        load_atomnet(wrong_version)

    wrong_shape = tmp_path / "shape.pt"
    torch.save({**payload, "channels": [8, 8, 8]}, wrong_shape)
    with pytest.raises(DataError, match="do not match"):
        load_atomnet(wrong_shape)

    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(DataError, match="not an AtomNet"):
        load_atomnet(foreign)

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(DataError):
        load_atomnet(garbage)
    with pytest.raises(DataError, match="no such"):
        load_atomnet(tmp_path / "missing.pt")


def test_bad_inputs_raise():
    net = AtomNet(channels=(4, 4, 4))
    with pytest.raises(DataError):
        find_atoms_cnn(np.zeros((4, 4, 4)), net)
    with pytest.raises(DataError):
        find_atoms_cnn(np.full((8, 8), np.nan), net)
    with pytest.raises(ConfigError):
        find_atoms_cnn(np.zeros((8, 8)), net, threshold=1.5)
    with pytest.raises(ConfigError):
        find_atoms_cnn(np.zeros((8, 8)), net, min_distance=0)
    with pytest.raises(ConfigError):
        AtomNet(channels=(4, 4))
    with pytest.raises(ConfigError):
        train_atomnet(epochs=0, **{k: v for k, v in TINY.items() if k != "epochs"})
    with pytest.raises(ConfigError):
        train_atomnet(crop=30, n_images=2, image_shape=(32, 32), epochs=1)
    with pytest.raises(ConfigError):
        atomnet_training_set(0)
    with pytest.raises(ConfigError):
        atomnet_training_set(1, pixel_size_range=(0.3, 0.1))
