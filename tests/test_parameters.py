"""Parameters map to [0, 1] and back exactly, and refuse values outside their range."""

from __future__ import annotations

import numpy as np
import pytest

from fxregistry import Effect, Parameter, registry
from fxregistry.errors import ParameterError

EFFECTS = registry.effect_names()
registry.reset()
PARAMETERS = [
    pytest.param(name, p, id=f"{name}.{p.name}")
    for name in EFFECTS
    for p in registry.get_effect(name).parameters
]


@pytest.mark.parametrize("effect_name, parameter", PARAMETERS)
def test_every_grid_value_round_trips_exactly(effect_name, parameter):
    for value in parameter.grid:
        x = parameter.normalize(value)
        assert 0.0 <= x <= 1.0
        assert parameter.denormalize(x) == value
        assert parameter.snap(value) == value


@pytest.mark.parametrize("effect_name, parameter", PARAMETERS)
def test_range_ends_map_to_zero_and_one(effect_name, parameter):
    low, high = parameter.range
    assert parameter.normalize(low) == 0.0
    assert parameter.normalize(high) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("effect_name, parameter", PARAMETERS)
def test_values_outside_the_range_are_rejected_with_the_range_in_the_message(
    effect_name, parameter
):
    low, high = parameter.range
    span = high - low
    for bad in (low - 0.01 * span, high + 0.01 * span, float("nan")):
        with pytest.raises(ParameterError, match=rf"{parameter.name} = .* outside its range"):
            parameter.normalize(bad)
    for bad in (-0.01, 1.01):
        with pytest.raises(ParameterError, match="must lie in"):
            parameter.denormalize(bad)


@pytest.mark.parametrize("name", EFFECTS)
def test_effect_vectors_round_trip_for_the_whole_grid(name):
    effect = registry.get_effect(name)
    for setting in effect.grid():
        vector = effect.normalize(setting)
        assert vector.dtype == np.float32 and vector.shape == (len(effect.parameters),)
        back = effect.denormalize(vector.astype(np.float64))
        for p in effect.parameters:
            assert back[p.name] == pytest.approx(setting[p.name], rel=1e-6, abs=1e-6)


def test_grid_holds_every_combination_of_parameter_values():
    effect = registry.get_effect("limiter")
    settings = effect.grid()
    assert len(settings) == 9
    assert {(s["threshold_db"], s["release_ms"]) for s in settings} == {
        (t, r) for t in (0.0, -5.0, -9.0) for r in (0.0, 500.0, 900.0)
    }


def test_log_scale_spaces_octaves_evenly():
    p = Parameter("rate", "kHz", grid=(10.0, 20.0, 40.0), range=(10.0, 40.0), scale="log")
    assert [p.normalize(v) for v in p.grid] == pytest.approx([0.0, 0.5, 1.0])
    assert p.denormalize(0.5) == 20.0
    assert p.snap(14.5) == 20.0  # nearer to 20 than to 10 on a log scale


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": "cubic"}, "scale must be one of"),
        ({"range": (1.0, 1.0)}, "low < high"),
        ({"grid": (0.0, 2.0)}, "outside the range"),
        ({"grid": (1.0, 0.5)}, "increasing"),
        ({"grid": ()}, "empty"),
        ({"scale": "log", "range": (0.0, 1.0)}, "positive range"),
    ],
)
def test_parameter_specs_are_checked_when_declared(kwargs, message):
    spec = {"name": "p", "unit": "dB", "grid": (0.0, 1.0), "range": (0.0, 1.0), **kwargs}
    with pytest.raises(ValueError, match=message):
        Parameter(**spec)


def test_effect_specs_are_checked_when_declared():
    p = Parameter("p", "dB", grid=(0.0, 1.0), range=(0.0, 1.0))
    with pytest.raises(ValueError, match="twice"):
        Effect("e", "", (p, p), render=lambda a, sr, **k: a)
    with pytest.raises(ValueError, match="no parameters"):
        Effect("e", "", (), render=lambda a, sr, **k: a)
    with pytest.raises(ParameterError, match="outside its range"):
        Effect("e", "", (p,), render=lambda a, sr, **k: a, identity={"p": 5.0})
