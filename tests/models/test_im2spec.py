import numpy as np
import pytest
import torch

from autoscope.errors import ConfigError, DataError
from autoscope.models.im2spec import (
    ENCODERS,
    LOSSES,
    Im2Spec,
    Im2SpecEnsemble,
    PatchDecoder,
    Spec2Im,
    train,
)


def _pairs(m: int, rng: np.random.Generator, *, w: int = 9, s: int = 32):
    """Patches whose mean intensity sets the position of a Gaussian peak in the spectrum."""
    c = rng.random(m)
    patches = c[:, None, None] + 0.3 * rng.normal(size=(m, w, w))
    axis = np.linspace(0.0, 1.0, s)
    spectra = np.exp(-((axis[None] - (0.2 + 0.6 * c)[:, None]) ** 2) / 0.01)
    return patches, spectra


def _small(**kw) -> Im2SpecEnsemble:
    options = {"epochs": 4, "update_epochs": 2, "select_last": 2, "batch_size": None}
    options.update(kw)
    return Im2SpecEnsemble(**options)


@pytest.mark.parametrize("window", [9, 16])
@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_every_encoder_maps_patches_to_the_latent(name, window):
    enc = ENCODERS[name](window, latent_dim=3, channels=8)
    assert tuple(enc(torch.zeros(4, 1, window, window)).shape) == (4, 3)
    assert tuple(enc(torch.zeros(2, window, window)).shape) == (2, 3)


def test_encoder_rejects_tiny_patches_and_unknown_names():
    with pytest.raises(ConfigError, match=">= 5"):
        ENCODERS["conv"](4, latent_dim=3)
    with pytest.raises(ConfigError, match="unknown encoder"):
        Im2Spec(9, 16, encoder="vgg")


@pytest.mark.parametrize("window", [5, 9, 11, 16])
def test_im2spec_and_spec2im_shapes(window):
    net = Im2Spec(window, 20, encoder="resnet-dilated", latent_dim=2)
    x = torch.randn(3, window, window)
    assert tuple(net(x).shape) == (3, 20) and tuple(net.encode(x).shape) == (3, 2)
    back = Spec2Im(20, window)
    assert tuple(back(torch.randn(3, 20)).shape) == (3, window, window)
    assert tuple(PatchDecoder(window, latent_dim=2)(torch.randn(3, 2)).shape) == (
        3,
        window,
        window,
    )


def test_softplus_output_is_positive():
    torch.manual_seed(0)
    net = Im2Spec(9, 16, output="softplus")
    with torch.no_grad():
        net.decoder[-1].bias.fill_(-30.0)
        assert (net(torch.randn(8, 9, 9)) > 0).all()
    with pytest.raises(ConfigError, match="output"):
        Im2Spec(9, 16, output="relu")


def test_train_lowers_the_loss_and_warm_starts():
    patches, spectra = _pairs(120, np.random.default_rng(0))
    torch.manual_seed(0)
    net = Im2Spec(9, 32, encoder="conv-b")
    first = train(net, patches, spectra, epochs=15, lr=3e-3, batch_size=32, seed=0)
    assert first.train_loss[-1] < 0.5 * first.train_loss[0]
    assert first.val_loss == [] and np.isnan(first.final_val_loss)
    again = train(net, patches, spectra, epochs=3, lr=1e-3, batch_size=32, seed=1)
    assert again.train_loss[0] < min(2 * first.train_loss[-1], 0.5 * first.train_loss[0])
    assert not net.training


def test_train_validation_split_and_swa():
    patches, spectra = _pairs(40, np.random.default_rng(1))

    def run(**kw):
        torch.manual_seed(3)
        net = Im2Spec(9, 32, encoder="conv")
        res = train(net, patches, spectra, epochs=8, val_fraction=0.25, seed=5, **kw)
        return net, res

    net, res = run()
    assert (res.n_train, res.n_val) == (30, 10) and len(res.val_loss) == 8
    assert res.final_val_loss == pytest.approx(res.val_loss[-1])
    # averaging only the last epoch is no averaging at all
    same, _ = run(swa=True, swa_start=0.99)
    averaged, avg_res = run(swa=True, swa_start=0.5)
    for a, b in zip(net.parameters(), same.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not all(
        torch.equal(a, c) for a, c in zip(net.parameters(), averaged.parameters(), strict=True)
    )
    assert np.isfinite(avg_res.final_val_loss)
    with pytest.raises(DataError, match="validation"):
        train(Im2Spec(9, 32), patches[:2], spectra[:2], epochs=1, val_fraction=0.2)


def test_poisson_deviance_and_training():
    counts = torch.tensor([[0.0, 1.0, 4.0]])
    assert float(LOSSES["poisson"](counts.clamp_min(1e-3), counts)) == pytest.approx(0.0, abs=1e-2)
    rate = torch.tensor([[1.0, 2.0, 2.0]])
    by_hand = 2 * np.mean([1.0, np.log(1 / 2) + 1, 4 * np.log(2) - 2])
    assert float(LOSSES["poisson"](rate, counts)) == pytest.approx(by_hand, rel=1e-5)
    rng = np.random.default_rng(2)
    patches, spectra = _pairs(60, rng)
    observed = rng.poisson(20 * spectra + 1).astype(float)
    torch.manual_seed(0)
    net = Im2Spec(9, 32, output="softplus")
    res = train(net, patches, observed, epochs=20, lr=1e-2, batch_size=20, loss="poisson")
    assert res.train_loss[-1] < 0.7 * res.train_loss[0]
    with pytest.raises(ConfigError, match="softplus"):
        train(Im2Spec(9, 32), patches, observed, epochs=1, loss="poisson")
    with pytest.raises(DataError, match="non-negative"):
        train(net, patches, -observed, epochs=1, loss="poisson")
    with pytest.raises(ConfigError, match="unknown loss"):
        train(net, patches, observed, epochs=1, loss="huber")


def test_ensemble_beats_the_mean_spectrum_on_held_out_patches():
    rng = np.random.default_rng(3)
    patches, spectra = _pairs(200, rng)
    test_p, test_s = _pairs(200, rng)
    ens = Im2SpecEnsemble(("conv-b",), epochs=25, update_epochs=2).fit(patches, spectra)
    mse = np.mean((ens.predict(test_p) - test_s) ** 2)
    baseline = np.mean((spectra.mean(axis=0) - test_s) ** 2)
    assert mse < 0.3 * baseline
    assert ens.encode(test_p).shape == (200, 3)


def test_ensemble_selects_lowest_mean_validation_loss():
    patches, spectra = _pairs(30, np.random.default_rng(4))
    ens = _small(epochs=5, select_last=2).fit(patches, spectra)
    record = ens.history_[0]
    assert record["selected_by"] == "validation" and record["retrained"] == list(ENCODERS)
    means = {v: np.mean(c["val"][-2:]) for v, c in record["curves"].items()}
    assert all(len(c["val"]) == 5 for c in record["curves"].values())
    assert ens.best_ == min(means, key=means.get) == record["best"]
    assert record["scores"] == pytest.approx(means)
    assert record["updated"] == ens.best_ and len(record["update_loss"]) == 2
    # select_last beyond the epochs averages every epoch
    everything = _small(epochs=3, select_last=50, variants=("conv", "conv-b")).fit(patches, spectra)
    curves = everything.history_[0]["curves"]
    assert everything.history_[0]["scores"] == pytest.approx(
        {v: np.mean(c["val"]) for v, c in curves.items()}
    )


def test_retraining_schedule():
    patches, spectra = _pairs(20, np.random.default_rng(5))
    ens = _small(variants=("conv", "conv-dilated"), retrain_probability=0.0)
    ens.fit(patches, spectra)
    assert ens.history_[0]["full"] and ens.history_[0]["retrained"] == ["conv", "conv-dilated"]
    best = ens.best_
    ens.fit(patches, spectra)
    ens.fit(patches, spectra)
    for record in ens.history_[1:]:
        assert not record["full"] and record["retrained"] == [] and record["curves"] == {}
        assert record["updated"] == best and record["best"] == best
    ens.retrain_probability = 1.0
    ens.fit(patches, spectra)
    assert ens.history_[-1]["retrained"] == ["conv", "conv-dilated"]


def test_ensemble_is_deterministic_and_round_trips():
    patches, spectra = _pairs(25, np.random.default_rng(6))
    options = {"variants": ("conv", "resnet-conv"), "retrain_probability": 0.5}

    def fitted(seed):
        return _small(seed=seed, **options).fit(patches, spectra)

    a, b, c = fitted(0), fitted(0), fitted(1)
    assert np.array_equal(a.predict(patches), b.predict(patches))
    assert not np.array_equal(a.predict(patches), c.predict(patches))

    restored = _small(seed=0, **options)
    restored.load_state_dict(a.state_dict())
    assert np.array_equal(restored.predict(patches), a.predict(patches))
    assert np.array_equal(restored.encode(patches), a.encode(patches))
    # the internal generator is part of the state: resumed fits continue identically
    for _ in range(3):
        a.fit(patches, spectra)
        restored.fit(patches, spectra)
    assert [h["full"] for h in a.history_] == [h["full"] for h in restored.history_]
    assert np.array_equal(restored.predict(patches), a.predict(patches))
    with pytest.raises(ConfigError, match="options differ"):
        _small(seed=0, variants=("conv",)).load_state_dict(a.state_dict())


def test_ensemble_restores_torch_state():
    patches, spectra = _pairs(12, np.random.default_rng(7))
    threads = torch.get_num_threads()
    before = torch.random.get_rng_state()
    _small(variants=("conv",)).fit(patches, spectra).predict(patches)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), before)
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("m", [1, 2, 6])
def test_small_validation_falls_back_to_training_loss(m):
    patches, spectra = _pairs(m, np.random.default_rng(8))
    ens = _small(variants=("conv", "conv-b"), val_fraction=0.2).fit(patches, spectra)
    record = ens.history_[0]
    assert record["selected_by"] == "training" and record["updated"] is None
    means = {v: np.mean(c["val"][-2:]) for v, c in record["curves"].items()}
    assert ens.best_ == min(means, key=means.get)
    assert ens.predict(patches).shape == (m, 32)
    # 10 points hold 2 for validation and 8 for training: the split is used
    patches, spectra = _pairs(10, np.random.default_rng(8))
    ens = _small(variants=("conv",), val_fraction=0.2).fit(patches, spectra)
    assert ens.history_[0]["selected_by"] == "validation"


def test_ensemble_poisson_predicts_positive_counts():
    rng = np.random.default_rng(9)
    patches, spectra = _pairs(20, rng)
    counts = rng.poisson(5 * spectra).astype(float)
    ens = _small(variants=("conv-b",), loss="poisson").fit(patches, counts)
    assert (ens.predict(patches) > 0).all()
    with pytest.raises(DataError, match="non-negative"):
        _small(loss="poisson").fit(patches, -counts - 1)


def test_ensemble_bad_input():
    patches, spectra = _pairs(8, np.random.default_rng(10))
    ens = _small(variants=("conv",))
    with pytest.raises(ConfigError, match="not fitted"):
        ens.predict(patches)
    ragged = [np.zeros(32)] * 7 + [np.zeros(30)]
    with pytest.raises(DataError, match="equal-length"):
        ens.fit(patches, ragged)
    with pytest.raises(DataError, match="one spectrum per patch"):
        ens.fit(patches, spectra[:5])
    bad = spectra.copy()
    bad[3, 4] = np.nan
    with pytest.raises(DataError, match="row 3"):
        ens.fit(patches, bad)
    with pytest.raises(DataError, match="square"):
        ens.fit(patches[:, :, :5], spectra)
    ens.fit(patches, spectra)
    with pytest.raises(DataError, match="length 32"):
        ens.fit(patches, spectra[:, :20])
    with pytest.raises(DataError, match=r"\(N, 9, 9\)"):
        ens.predict(np.zeros((3, 11, 11)))
    for options in ({"variants": ("conv", "conv")}, {"variants": ("vgg",)}, {"loss": "huber"}):
        with pytest.raises(ConfigError):
            Im2SpecEnsemble(**options)
    with pytest.raises(ConfigError, match="val_fraction"):
        Im2SpecEnsemble(val_fraction=1.0)
