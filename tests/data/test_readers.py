from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from autoscope.data.readers import READERS, list_readers, read, select_reader
from autoscope.data.spectral_image import SpectralImage
from autoscope.errors import DataError

SHA_BEPS = "6aebbfd6639c4fc3670228899ef7af7965a41decacedfb8db0c6ecd46d095055"


# --- registry -----------------------------------------------------------------


def test_registry_lists_every_format() -> None:
    names = [info.name for info in list_readers()]
    assert names == sorted(READERS)
    extensions = {ext for info in list_readers() for ext in info.extensions}
    for ext in (".h5", ".hdf5", ".hspy", ".dm3", ".dm4", ".emd", ".bcf", ".gwy", ".ibw"):
        assert ext in extensions
    assert READERS["nsid"].extra is None and READERS["dm"].extra == "io"
    assert all(info.available for info in list_readers())


# --- NSID ---------------------------------------------------------------------


def test_beps_cube(beps_path: Path) -> None:
    image = read(beps_path)
    assert isinstance(image, SpectralImage)
    assert image.spectra.shape == (50, 50, 64)
    assert image.structure.shape == (1, 50, 50) and image.spectra_binning == 1
    assert image.spectral_units == "V"
    volts = image.spectral_axis
    # bipolar triangle 0 -> +8.5 -> 0 -> -8.5 -> 0 V
    assert volts[0] == 0.0 and volts[16] == pytest.approx(8.5) and volts[48] == pytest.approx(-8.5)
    assert (
        volts[32] == 0.0 and np.all(np.diff(volts[:17]) > 0) and np.all(np.diff(volts[16:49]) < 0)
    )
    assert image.pixel_units == "m" and image.pixel_size == pytest.approx(2e-6 / 49)
    assert "Piezoresponse" in image.signal_name
    prov = image.provenance
    assert prov["reader"] == "nsid" and prov["sha256"] == SHA_BEPS
    assert prov["path"].endswith("BEPS_PTO_50x50.h5")
    assert prov["structure"] == "abs-mean"
    np.testing.assert_allclose(image.image, np.abs(image.spectra).mean(-1))
    outliers = prov["outliers"]
    assert outliers["count"] > 0 and outliers["max_over_median"] > 100
    assert len(outliers["positions"]) == 5
    # nothing is clipped: the extreme values are still there
    assert np.abs(image.spectra).max() > 0.09


@pytest.mark.parametrize(
    ("structure", "expected"),
    [
        ("mean", lambda s: s.mean(-1)),
        ("std", lambda s: s.std(-1)),
        ("slice:16", lambda s: s[..., 16]),
        ("slice:-1", lambda s: s[..., -1]),
    ],
)
def test_beps_structure_derivations(beps_path: Path, structure: str, expected) -> None:
    image = read(beps_path, structure=structure)
    assert image.provenance["structure"] == structure
    np.testing.assert_allclose(image.image, expected(image.spectra))


def test_beps_bad_structure_requests(beps_path: Path) -> None:
    with pytest.raises(DataError, match="unknown structure derivation 'median'"):
        read(beps_path, structure="median")
    with pytest.raises(DataError, match="out of range"):
        read(beps_path, structure="slice:64")
    with pytest.raises(DataError, match="BEPS_PTO_50x50.*map:'Height'"):
        read(beps_path, structure="map:Height")


def test_pfm_nsid_channels(data_dir: Path) -> None:
    image = read(data_dir / "pfm_domains_dtmicroscope" / "PTO_Funakubo0001.h5")
    assert image.channel_names == (
        "HeightRetrace",
        "AmplitudeRetrace",
        "DeflectionRetrace",
        "PhaseRetrace",
    )
    assert image.structure.shape == (4, 256, 256) and not image.has_spectra
    assert image.pixel_units == "m" and image.pixel_size == pytest.approx(1e-6 / 255)
    assert image.provenance["structure"] == "file"
    phase = read(data_dir / "pfm_domains_dtmicroscope" / "PZT_final0001.h5", structure="map:phase")
    assert phase.channel_names == ("PhaseRetrace",)
    with pytest.raises(DataError, match="more than one"):
        read(data_dir / "pfm_domains_dtmicroscope" / "PZT_final0001.h5", structure="map:Nap")


# --- RosettaSciIO -----------------------------------------------------------------


def test_dm3_eels_si_paired_with_haadf(data_dir: Path) -> None:
    folder = data_dir / "stem_eels_si_sto"
    image = read(
        folder / "DMReader_SI-HAADF.dm3", spectra=folder / "DMReader_SpectrumImage_SI-EELS.dm3"
    )
    assert image.structure.shape == (1, 1568, 192)
    assert image.spectra.shape == (49, 6, 1024) and image.spectrum_grid_shape == (49, 6)
    assert image.spectra_binning == 32
    assert image.spectral_units == "eV"
    axis = image.spectral_axis
    assert axis[0] == pytest.approx(350.0) and axis[1] - axis[0] == pytest.approx(0.5)
    # EELS: decaying background and the Ti L2,3 edge near 456 eV
    mean = image.spectra.mean(axis=(0, 1))

    def window(lo: float, hi: float) -> float:
        return float(mean[(axis >= lo) & (axis < hi)].mean())

    assert window(350, 360) > window(440, 452) > window(850, 862)
    assert window(458, 466) > 1.2 * window(440, 452)
    prov = image.provenance
    assert prov["reader"] == "dm" and prov["spectra_reader"] == "dm"
    assert prov["spectra_path"].endswith("DMReader_SpectrumImage_SI-EELS.dm3")
    assert len(prov["spectra_sha256"]) == 64
    assert prov["pixel_calibration"]["structure"]["scale"] == 0.03125
    assert image.pixel_units == "px"


def test_dm3_eels_si_alone_gets_derived_structure(data_dir: Path) -> None:
    image = read(data_dir / "stem_eels_si_sto" / "DMReader_SpectrumImage_SI-EELS.dm3")
    assert image.spectra.shape == (49, 6, 1024) and image.structure.shape == (1, 49, 6)
    assert image.provenance["structure"] == "abs-mean"
    notes = image.provenance["file_notes"]["signals"][0]
    assert notes["shape"] == [1024, 49, 6] and notes["spectral_axis_index"] == 0


def test_dm4_image(data_dir: Path) -> None:
    image = read(data_dir / "nanoparticles_sio2_edx_si" / "JEOL_HAADF_Image_CoS2.dm4")
    assert image.structure.shape == (1, 112, 112) and not image.has_spectra
    assert image.pixel_units == "µm" and image.pixel_size == pytest.approx(1.249e-3, rel=1e-3)


def test_emd_velox_edx_and_haadf(data_dir: Path) -> None:
    image = read(data_dir / "stem_edx_si_velox" / "EMDReader_SpectrumImage_Si.emd")
    assert image.channel_names == ("HAADF",)
    assert image.structure.shape == (1, 16, 16) and image.spectra.shape == (16, 16, 4096)
    assert image.spectra_binning == 1 and image.spectral_units == "keV"
    assert image.spectral_axis[0] == pytest.approx(-1.0)
    assert image.pixel_units == "nm" and image.pixel_size == pytest.approx(5.302, rel=1e-3)
    assert image.spectra.sum() == 6564
    assert image.provenance["reader"] == "emd"


def test_bcf_haadf_and_edx(data_dir: Path) -> None:
    image = read(data_dir / "nanoparticles_edx_si_bruker" / "test_TEM.bcf")
    assert image.structure.shape == (1, 64, 64) and image.spectra.shape == (64, 64, 2048)
    assert image.spectra_binning == 1 and image.spectral_units == "keV"
    assert image.channel_names == ("HAADF",)


def test_hspy_sio2_pair(data_dir: Path) -> None:
    folder = data_dir / "nanoparticles_sio2_edx_si"
    image = read(folder / "SiO2_HAADF_Image.hspy", spectra=folder / "SiO2_EDS_Spectrum_Image.hspy")
    assert image.structure.shape == (1, 128, 128) and image.spectra.shape == (128, 128, 2048)
    assert image.spectra_binning == 1
    assert image.pixel_units == "µm" and image.pixel_size == pytest.approx(8.55e-3, rel=1e-3)
    assert image.provenance["reader"] == "hspy"


@pytest.mark.parametrize("reader", ["HSPY", "hspy", None])
def test_atomap_hdf5(data_dir: Path, reader: str | None) -> None:
    path = data_dir / "stem_adf_abf_srtio3" / "test_ADF_cropped.hdf5"
    image = read(path, reader=reader)
    assert image.structure.shape == (1, 400, 380)
    assert image.provenance["reader"] == "hspy"
    # the file stores a scale but no units: reported in pixels, raw scale kept
    assert image.pixel_units == "px"
    assert image.provenance["pixel_calibration"]["structure"]["scale"] == pytest.approx(
        0.00933, rel=1e-3
    )


# --- SPM ------------------------------------------------------------------------


def test_gwy_channels(data_dir: Path) -> None:
    image = read(data_dir / "pfm_domains_scifidatasets" / "PTO_110_Virgin0001.gwy")
    assert image.structure.shape == (4, 256, 256)
    assert image.channel_names == (
        "HeightRetrace",
        "AmplitudeRetrace",
        "DeflectionRetrace",
        "PhaseRetrace",
    )
    assert image.pixel_units == "m" and image.pixel_size == pytest.approx(10.04e-6 / 256, rel=1e-3)


def test_ibw_channels(data_dir: Path) -> None:
    image = read(data_dir / "pfm_domains_scifidatasets" / "IgorIBWReader_P0089OP0027.ibw")
    assert image.structure.shape == (5, 256, 256)
    # igor2 alone would give 'PhaseRetracerace' (stale bytes after the NUL)
    assert image.channel_names == (
        "HeightRetrace",
        "AmplitudeRetrace",
        "DeflectionRetrace",
        "PhaseRetrace",
        "UserIn0Retrace",
    )
    assert image.pixel_units == "m" and image.pixel_size == pytest.approx(2e-6 / 255)


# --- numpy ----------------------------------------------------------------------


def test_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    structure = rng.random((2, 8, 12))
    spectra = rng.random((4, 6, 5))
    axis = np.linspace(-1.0, 1.0, 5)
    path = tmp_path / "scan.npz"
    np.savez(
        path,
        structure=structure,
        spectra=spectra,
        spectral_axis=axis,
        spectral_units="V",
        pixel_size=2.5,
        pixel_units="nm",
        channel_names=np.array(["height", "phase"]),
        extra=np.zeros(3),
    )
    image = read(path)
    np.testing.assert_array_equal(image.structure, structure)
    np.testing.assert_array_equal(image.spectra, spectra)
    np.testing.assert_array_equal(image.spectral_axis, axis)
    assert image.spectra_binning == 2 and image.spectral_units == "V"
    assert image.channel_names == ("height", "phase")
    assert (image.pixel_size, image.pixel_units) == (2.5, "nm")
    assert image.provenance["file_notes"]["unused_keys"] == ["extra"]
    assert image.provenance["reader"] == "npz"


def test_npy_image_and_cube(tmp_path: Path) -> None:
    cube = np.arange(4 * 5 * 3, dtype=float).reshape(4, 5, 3)
    np.save(tmp_path / "cube.npy", cube)
    image = read(tmp_path / "cube.npy", structure="slice:1")
    np.testing.assert_array_equal(image.spectra, cube)
    np.testing.assert_array_equal(image.image, cube[..., 1])
    assert image.provenance["structure"] == "slice:1"
    np.save(tmp_path / "image.npy", cube[..., 0])
    image = read(tmp_path / "image.npy")
    assert image.structure.shape == (1, 4, 5) and not image.has_spectra
    # image + cube pairing in one grid
    paired = read(tmp_path / "image.npy", spectra=tmp_path / "cube.npy")
    assert paired.spectra_binning == 1 and paired.provenance["spectra_reader"] == "npy"


# --- bad input ------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found.*nothing.h5"):
        read(tmp_path / "nothing.h5")
    np.save(tmp_path / "a.npy", np.zeros((2, 2)))
    with pytest.raises(DataError, match="spectra file not found"):
        read(tmp_path / "a.npy", spectra=tmp_path / "b.npy")


@pytest.mark.parametrize("suffix", [".dm3", ".h5", ".bcf", ".gwy", ".npz", ".emd", ".hspy"])
def test_garbage_bytes(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(b"this is not a microscopy file" * 10)
    with pytest.raises(DataError, match=f"garbage\\{suffix}.*does not match"):
        read(path)


def test_truncated_hdf5(tmp_path: Path, beps_path: Path) -> None:
    path = tmp_path / "truncated.h5"
    path.write_bytes(beps_path.read_bytes()[:4096])
    with pytest.raises(DataError, match="truncated.h5.*(truncated|corrupt)"):
        read(path)


def test_truncated_dm3(tmp_path: Path, data_dir: Path) -> None:
    source = data_dir / "stem_eels_si_sto" / "DMReader_SpectrumImage_SI-EELS.dm3"
    path = tmp_path / "truncated.dm3"
    path.write_bytes(source.read_bytes()[:20000])
    with pytest.raises(DataError, match="truncated.dm3.*'dm' reader could not read"):
        read(path)


def test_truncated_npy(tmp_path: Path) -> None:
    path = tmp_path / "cut.npy"
    np.save(path, np.ones((10, 10, 10)))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="cut.npy"):
        read(path)


def test_hdf5_without_expected_datasets(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as handle:
        handle["something"] = np.zeros((4, 4))
    with pytest.raises(DataError, match="plain.h5.*neither the HyperSpy layout.*nor NSID"):
        read(path)
    with pytest.raises(DataError, match="plain.h5.*no NSID main dataset"):
        read(path, reader="nsid")


def test_npz_without_expected_arrays(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, foo=np.zeros(3))
    with pytest.raises(DataError, match=r"other.npz.*'structure'.*'spectra'.*\['foo'\]"):
        read(path)


def test_nan_spectra_name_the_file(tmp_path: Path) -> None:
    spectra = np.ones((3, 3, 4))
    spectra[1, 2, 0] = np.nan
    path = tmp_path / "holes.npz"
    np.savez(path, spectra=spectra)
    with pytest.raises(DataError, match=r"holes.npz.*NaN/inf"):
        read(path, structure="slice:1")
    spectra[1, 2, 0] = np.inf
    np.savez(path, spectra=spectra)
    with pytest.raises(DataError, match=r"holes.npz.*NaN/inf"):
        read(path, structure="slice:1")


def test_shape_mismatch_names_both_files(tmp_path: Path) -> None:
    np.save(tmp_path / "image.npy", np.zeros((10, 12)))
    np.save(tmp_path / "spectra.npy", np.zeros((4, 4, 3)))
    with pytest.raises(DataError, match=r"image.npy.*spectra.npy.*\(10, 12\).*\(4, 4\)"):
        read(tmp_path / "image.npy", spectra=tmp_path / "spectra.npy")
    np.save(tmp_path / "uneven.npy", np.zeros((5, 3, 3)))  # ratios 2 and 4
    with pytest.raises(DataError, match="not related by one integer binning"):
        read(tmp_path / "image.npy", spectra=tmp_path / "uneven.npy")


def test_spectra_file_without_spectra(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((4, 4)))
    with pytest.raises(DataError, match="b.npy: expected a spectrum image"):
        read(tmp_path / "a.npy", spectra=_copy(tmp_path / "a.npy", tmp_path / "b.npy"))


def test_unknown_reader_and_extension(tmp_path: Path, beps_path: Path) -> None:
    with pytest.raises(DataError, match="unknown reader 'tiff'.*known readers"):
        read(beps_path, reader="tiff")
    with pytest.raises(DataError, match="forced reader 'dm' expects"):
        read(beps_path, reader="dm")
    path = tmp_path / "scan.xyz"
    path.write_bytes(b"123")
    with pytest.raises(DataError, match=r"scan.xyz: no reader for extension '.xyz'"):
        read(path)


def test_select_reader_disambiguates_hdf5(data_dir: Path, beps_path: Path) -> None:
    assert select_reader(beps_path).name == "nsid"
    adf = data_dir / "stem_adf_abf_srtio3" / "test_ABF_cropped.hdf5"
    assert select_reader(adf).name == "hspy"


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target
