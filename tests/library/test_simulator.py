"""The library simulator and its stage-aware instrument."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError, InstrumentError
from autoscope.instruments import check_instrument
from autoscope.library import LibrarySpec, MotionCost, make_library
from autoscope.library.instrument import LibraryInstrument

SMALL = LibrarySpec(area_um=90.0, n_gaussians=100)


def test_library_is_deterministic_and_consistent() -> None:
    a, b = make_library(SMALL, seed=3), make_library(SMALL, seed=3)
    assert np.array_equal(a.cells, b.cells) and np.array_equal(a.prop, b.prop)
    assert not np.array_equal(a.prop[:10], make_library(SMALL, seed=4).prop[:10])
    n = len(a)
    assert 0.7 * 0.02 * 90**2 < n < 1.3 * 0.02 * 90**2
    assert len({tuple(c) for c in a.cells}) == n  # one particle per cell
    assert np.allclose(a.composition.sum(1), 1) and (a.composition >= 0).all()
    assert np.allclose(a.edx.fractions.sum(1), 1)
    assert (a.radius_nm > 0).all() and abs(a.radius_nm.mean() - 20) < 3
    # regions tile the area in 30 µm fields of view
    assert a.n_regions == 9 and a.region_counts.sum() == n
    centres = a.region_centres_um()
    assert np.allclose(centres[0], [15, 15]) and np.allclose(centres[4], [45, 45])
    for i in range(0, n, 17):
        r = a.region[i]
        assert np.all(np.abs(a.positions_um[i] - centres[r]) <= 15 + 1e-9)
    assert np.allclose(a.field(a.reference), a.reference_prop)
    truth = a.truth_map()
    assert np.isfinite(truth).sum() == n


def test_library_spec_errors() -> None:
    with pytest.raises(ConfigError, match="n_components"):
        LibrarySpec(n_components=1)
    with pytest.raises(ConfigError, match="larger than the accessible area"):
        LibrarySpec(area_um=20.0)
    with pytest.raises(ConfigError, match="unknown option"):
        LibrarySpec.from_dict({"components": 3})
    with pytest.raises(ConfigError, match="grid cells"):
        LibrarySpec(density_per_um2=0.9)
    spec = LibrarySpec.from_dict({"n_components": 4, "costs": {"stage_speed_um_s": 20.0}})
    assert spec.costs.stage_speed_um_s == 20.0
    assert LibrarySpec.from_dict(spec.to_dict()) == spec


def test_instrument_passes_check_and_charges_moves() -> None:
    library = make_library(SMALL, seed=0)
    check_instrument(LibraryInstrument(library), points=library.cells[:3])
    instrument = LibraryInstrument(library)
    costs = MotionCost()
    first = np.flatnonzero(library.region == 4)[:2]
    neighbour = np.flatnonzero(library.region == 5)[0]
    m = instrument.measure(library.cells[first])
    # from the area's centre (already region 4's centre): a stage retune, the EDX frame, EELS
    assert m.seconds[0] == pytest.approx(
        costs.retune_seconds
        + costs.beam_shift_seconds
        + costs.edx_frame_seconds
        + costs.measure_seconds
    )
    # same field of view: beam shift + EELS only
    assert m.seconds[1] == pytest.approx(costs.beam_shift_seconds + costs.measure_seconds)
    assert m.info[1]["moved"] is False and m.info[0]["new_region"] is True
    expected = instrument.expected_cost(library.cells[[neighbour]])
    m2 = instrument.measure(library.cells[[neighbour]])
    # adjacent field of view: 5 s retune + 0.02 s + 30 µm / 10 µm/s, plus a new EDX frame
    assert m2.seconds[0] == pytest.approx(8.02 + 10 + 1)
    assert m2.total_cost.seconds == pytest.approx(expected.seconds)
    assert m.spectra[0, 0] == pytest.approx(library.prop[first[0]])
    assert instrument.clock == pytest.approx(m.seconds.sum() + m2.seconds.sum())


def test_instrument_errors_and_replay() -> None:
    library = make_library(SMALL, seed=0)
    instrument = LibraryInstrument(library)
    empty = next(
        (r, c) for r in range(90) for c in range(90) if (r, c) not in library.index_of_cell
    )
    with pytest.raises(InstrumentError, match="no particle"):
        instrument.measure(np.array([empty]))
    with pytest.raises(DataError, match="outside"):
        instrument.measure(np.array([[90, 0]]))
    with pytest.raises(DataError, match="outside the accessible"):
        instrument.move_stage((100.0, 10.0))
    cost = instrument.move_stage((80.0, 80.0))
    assert cost.seconds > 5
    m = instrument.measure(library.cells[[np.flatnonzero(library.region == 8)[0]]])
    assert m.seconds[0] == pytest.approx(cost.seconds + 0.02 + 10 + 1)  # move charged here
    points = library.cells[[0, 1, 50, 51]]
    one = LibraryInstrument(library)
    one.measure(points)
    two = LibraryInstrument(library)
    two.replay_requests([tuple(p) for p in points])
    assert two.region == one.region and two.discovered == one.discovered
    assert two.clock == pytest.approx(one.clock)
