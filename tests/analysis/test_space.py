import numpy as np
import pytest

from autoscope.analysis.space import Parameter, ParameterSpace
from autoscope.errors import ConfigError


def test_float_log_int_and_choice_round_trip():
    space = ParameterSpace(
        [
            Parameter("sigma", low=0.5, high=4.0),
            Parameter("threshold", low=0.01, high=1.0, log=True),
            Parameter("min_size", kind="int", low=2, high=10),
            Parameter("method", kind="choice", choices=("log", "dog")),
        ],
        fixed={"num_sigma": 5},
    )
    params = space.from_unit([0.0, 0.5, 1.0, 0.9])
    assert params == {
        "num_sigma": 5,
        "sigma": 0.5,
        "threshold": pytest.approx(0.1),
        "min_size": 10,
        "method": "dog",
    }
    unit = space.to_unit(params)
    assert space.from_unit(unit) == params
    assert space.names == ["sigma", "threshold", "min_size", "method"]


def test_integers_round_and_stay_in_range():
    p = Parameter("n", kind="int", low=2, high=5)
    values = {p.from_unit(u) for u in np.linspace(0, 1, 101)}
    assert values == {2, 3, 4, 5}
    assert p.from_unit(-3.0) == 2 and p.from_unit(7.0) == 5


def test_key_identifies_decoded_duplicates():
    space = ParameterSpace([Parameter("n", kind="int", low=0, high=3), Parameter("x")])
    assert space.key(space.from_unit([0.40, 0.25])) == space.key(space.from_unit([0.41, 0.25]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"low": 1.0, "high": 1.0}, "empty range"),
        ({"low": 2.0, "high": 1.0}, "empty range"),
        ({"low": 0.0, "high": 1.0, "log": True}, "low > 0"),
        ({"kind": "choice"}, "at least one value"),
        ({"kind": "int", "low": 0.2, "high": 0.8}, "no integer"),
        ({"kind": "complex"}, "unknown kind"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Parameter("p", **kwargs)


def test_bad_spaces_are_refused():
    with pytest.raises(ConfigError, match="at least one"):
        ParameterSpace([])
    with pytest.raises(ConfigError, match="unique"):
        ParameterSpace([Parameter("a"), Parameter("a")])
    space = ParameterSpace([Parameter("a"), Parameter("b")])
    with pytest.raises(ConfigError, match="expected 2"):
        space.from_unit([0.5])
    with pytest.raises(ConfigError, match="outside"):
        space.to_unit({"a": 2.0, "b": 0.0})
    with pytest.raises(ConfigError, match="unknown"):
        space.with_fixed(c=1)
    assert space.with_fixed(a=0.3).from_unit([0.5]) == {"a": 0.3, "b": 0.5}
