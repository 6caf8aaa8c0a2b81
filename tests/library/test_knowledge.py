"""Phase look-up: offline tables (CSV, TOML), matching rules, the protocol, bad tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autoscope.errors import ConfigError, DataError
from autoscope.library.knowledge import PhaseLookup, PhaseMatch, TablePhaseLookup, basis_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "particles" / "phases.csv"

CSV = """# comment lines are skipped
phase,basis,ranges,note
silica,atomic,Si:0.28-0.38 O:0.62-0.72,SiO2
titania,atomic,Ti:0.28-0.38; O:0.62-0.72,
silica fingerprint,counts,Si:0.50-0.65 O:0.35-0.50,instrument-specific
"""


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "phases.csv"
    path.write_text(CSV)
    return TablePhaseLookup(path)


def test_protocol_and_example_table():
    lookup = TablePhaseLookup(EXAMPLE)
    assert isinstance(lookup, PhaseLookup)
    assert len(lookup.entries) >= 10
    names = [m.phase for m in lookup.candidates({"Si": 0.33, "O": 0.67})]
    assert names[0] == "silica (SiO2)"
    assert [m.phase for m in lookup.candidates({"Fe": 0.5, "Pt": 0.5})] == ["FePt (L1_0 / A1)"]


def test_matching_renormalises_and_uses_sigmas(table):
    # Support elements (C, Cu) are set aside: Si/O renormalised is 0.35/0.65.
    match = table.candidates({"Si": 0.21, "O": 0.39, "C": 0.35, "Cu": 0.05})
    assert [m.phase for m in match] == ["silica"]
    assert match[0].score == 0.0 and match[0].coverage == pytest.approx(0.6)
    # Outside the range by 0.07 (renormalised): only with a large enough sigma.
    assert table.candidates({"Si": 0.45, "O": 0.55}) == []
    loose = table.candidates({"Si": 0.45, "O": 0.55}, sigmas={"Si": 0.04, "O": 0.04})
    assert [m.phase for m in loose] == ["silica"] and 1.0 < loose[0].score <= 2.0


def test_coverage_and_basis_filters(table):
    assert table.candidates({"Si": 0.1, "O": 0.2, "C": 0.7}) == []  # too little Si + O
    counts = table.candidates({"Si": 0.46, "O": 0.35, "C": 0.17}, basis="counts")
    assert [m.phase for m in counts] == ["silica fingerprint"]
    assert table.candidates({}) == []
    with pytest.raises(ConfigError, match="basis"):
        table.candidates({"Si": 1.0}, basis="weight")
    with pytest.raises(ConfigError, match="finite"):
        table.candidates({"Si": np.nan})


def test_toml_table(tmp_path):
    path = tmp_path / "phases.toml"
    path.write_text(
        '[[phase]]\nname = "rutile"\nranges = { Ti = [0.3, 0.36], O = [0.64, 0.7] }\n'
        'note = "TiO2"\n'
    )
    lookup = TablePhaseLookup(path)
    match = lookup.candidates({"Ti": 0.33, "O": 0.67})
    assert match == [PhaseMatch("rutile", 0.0, 1.0, "TiO2")]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("a.csv", "name,ranges\nx,Si:0-1\n", "columns 'phase' and 'ranges'"),
        ("a.csv", "phase,ranges\nx,Si=0.2\n", "Element:low-high"),
        ("a.csv", "phase,ranges\nx,Qq:0.1-0.2\n", "unknown element 'Qq'"),
        ("a.csv", "phase,ranges\nx,Si:0.5-0.2\n", "low <= high"),
        ("a.csv", "phase,basis,ranges\nx,weight,Si:0.1-0.2\n", "basis 'weight'"),
        ("a.csv", "phase,ranges\n,Si:0.1-0.2\n", "no name"),
        ("a.csv", "phase,ranges\n", "no phases"),
        ("a.toml", "[[phase]]\nname = 'x'\nranges = 3\n", "'ranges' must be a table"),
        ("a.toml", "phase = [", "not valid TOML"),
        ("a.txt", "phase,ranges\n", "must be .csv or .toml"),
    ],
)
def test_bad_tables(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        TablePhaseLookup(path)


def test_missing_table_and_bad_options(tmp_path):
    with pytest.raises(DataError, match="not found"):
        TablePhaseLookup(tmp_path / "nope.csv")
    path = tmp_path / "p.csv"
    path.write_text(CSV)
    with pytest.raises(ConfigError, match="tolerance"):
        TablePhaseLookup(path, tolerance=-1)
    with pytest.raises(ConfigError, match="min_sigma"):
        TablePhaseLookup(path, min_sigma=0)
    with pytest.raises(ConfigError, match="min_coverage"):
        TablePhaseLookup(path, min_coverage=2)


def test_basis_of():
    assert basis_of("count fraction") == "counts"
    assert basis_of("atomic fraction") == "atomic"


def test_particle_table_with_phases(tmp_path):
    from test_chemistry import ELEMENTS, ENERGY, scene

    from autoscope.library.chemistry import particle_chemistry

    path = tmp_path / "p.csv"
    path.write_text(
        "phase,basis,ranges\ncarbon film,counts,C:0.9-1.0\nsilica,counts,Si:0.4-0.7 O:0.3-0.6\n"
    )
    image, cube = scene(seed=7)
    table = particle_chemistry(image, cube, ENERGY, elements=ELEMENTS)
    table.with_phases(TablePhaseLookup(path, tolerance=3.0))
    assert table.phases is not None and table.phases[0] == ["carbon film"]
    assert "phases" in table.rows()[0]
