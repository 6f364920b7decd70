"""What an effect is: plain data about its parameters plus one render function.

A plugin describes an effect with :class:`Parameter` and :class:`Effect` and
registers it from its ``register_effects`` hook.  Everything else in fxr
(building datasets, training, estimating) works from this description alone,
so a new effect needs no change anywhere in the core.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from fxregistry.audio.features import KINDS
from fxregistry.errors import FxrError, ParameterError

__all__ = ["Parameter", "Effect", "SCALES", "UNITS"]

SCALES = ("linear", "log")
UNITS = ("dB", "ms", "s", "bits", "kHz", "Hz", "%", "")

# Relative distance under which a value counts as "the same" as a grid value.
# It makes normalize -> denormalize return grid values bit for bit, which a
# float round trip alone does not (e.g. 11.025 on a log scale).
_GRID_SNAP = 1e-9


@dataclass(frozen=True)
class Parameter:
    """One estimated parameter of an effect.

    ``grid`` holds the study's values (what ``--grid paper`` renders);
    ``range`` is the continuous interval for random sampling, and together
    with ``scale`` it defines the mapping to [0, 1] that the models predict.
    """

    name: str
    unit: str
    grid: tuple[float, ...]
    range: tuple[float, float]
    scale: str = "linear"
    description: str = ""

    def __post_init__(self) -> None:
        low, high = self.range
        object.__setattr__(self, "grid", tuple(float(v) for v in self.grid))
        object.__setattr__(self, "range", (float(low), float(high)))
        if self.scale not in SCALES:
            raise ValueError(f"{self.name}: scale must be one of {SCALES}, not {self.scale!r}")
        if not low < high:
            raise ValueError(f"{self.name}: range must have low < high, got {self.range}")
        if self.scale == "log" and low <= 0:
            raise ValueError(f"{self.name}: a log scale needs a positive range, got {self.range}")
        if not self.grid:
            raise ValueError(f"{self.name}: the grid is empty")
        if list(self.grid) != sorted(set(self.grid)):
            raise ValueError(f"{self.name}: grid values must be increasing and distinct")
        outside = [v for v in self.grid if not low <= v <= high]
        if outside:
            raise ValueError(
                f"{self.name}: grid values {outside} lie outside the range {self.range}"
            )

    def check(self, value: float) -> float:
        """Return ``value`` as a float, or raise :class:`ParameterError` if out of range."""
        low, high = self.range
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name} must be a number, got {value!r}") from None
        if not (low <= value <= high):  # also rejects NaN
            raise ParameterError(
                f"{self.name} = {value:g} {self.unit} is outside its range "
                f"[{low:g}, {high:g}] {self.unit}".rstrip()
            )
        return value

    def normalize(self, value: float) -> float:
        """Map a value in ``range`` to [0, 1] on the parameter's scale."""
        value = self.check(value)
        low, high = self.range
        if self.scale == "log":
            return math.log(value / low) / math.log(high / low)
        return (value - low) / (high - low)

    def denormalize(self, x: float) -> float:
        """Map [0, 1] back to the parameter's unit; grid values come back exactly."""
        x = float(x)
        if not (0.0 <= x <= 1.0):
            raise ParameterError(f"normalized {self.name} must lie in [0, 1], got {x:g}")
        low, high = self.range
        value = min(max(float(self.to_units(x)), low), high)
        nearest = self.snap(value)
        if abs(nearest - value) <= _GRID_SNAP * (high - low):
            return nearest
        return value

    def to_units(self, x: Any) -> np.ndarray:
        """Normalized values, clipped to [0, 1], in the parameter's unit (arrays welcome).

        :meth:`denormalize` is this for one value, plus the return of grid values.
        """
        low, high = self.range
        x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
        if self.scale == "log":
            return low * (high / low) ** x
        return low + x * (high - low)

    def grid_indices(self, x: Any) -> np.ndarray:
        """Index of the grid value nearest to each normalized value (nearest on the scale)."""
        grid = np.array([self.normalize(v) for v in self.grid])
        return np.abs(np.asarray(x)[..., None] - grid).argmin(axis=-1)

    def snap(self, value: float) -> float:
        """The grid value nearest to ``value``, measured on the parameter's scale."""
        grid = np.asarray(self.grid)
        if self.scale == "log":
            distance = np.abs(np.log(grid) - math.log(max(float(value), 1e-300)))
        else:
            distance = np.abs(grid - float(value))
        return float(grid[int(np.argmin(distance))])

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "grid": list(self.grid),
            "range": list(self.range),
            "scale": self.scale,
            "description": self.description,
        }


RenderFunction = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Effect:
    """An audio effect whose parameters fxr estimates.

    ``render(audio, sample_rate, **params)`` takes float32 audio shaped
    ``(samples,)`` or ``(channels, samples)`` and returns float32 audio of the
    same shape; it must be deterministic.  ``fixed`` documents settings that
    are held constant and not estimated.  ``identity`` names the parameter
    values at which the effect leaves audio untouched, if there are any.
    ``projection`` is set for an effect whose own output, rendered again at
    the same setting, stays in place (quantization, band-limiting): how far
    it may move, as a multi-resolution spectral distance (0.001 for exact
    quantization, 0.1 for a resampler's band limit). A blind estimate can
    then test each setting on the wet audio alone
    (:mod:`fxregistry.estimation.fixed_point`). None: not a projection.
    ``linear`` is set for an effect that is a linear time-invariant filter at
    every setting (a feedback echo): its output is the input convolved with its
    render of a unit impulse. A blind estimate can then look for that impulse
    response's echoes in the wet audio's cepstrum
    (:mod:`fxregistry.estimation.echoes`). ``ceiling`` is set for an effect
    that holds its output's peaks at one level whenever it limits them (a
    brick-wall limiting made up to full scale: 1.0): a limited wet has many
    samples at that level, audio the effect never limited one at most
    (:mod:`fxregistry.estimation.evidence`). ``gentle_peak_db`` is set for an
    effect with a ``ceiling`` that can also change audio without reaching it
    (a compressor stage before the limiting one): the quietest
    peak, in dBFS, such a gentler change leaves. A wet with no peak held that
    peaks below it was not processed; one that peaks above may have been,
    and the check then says nothing. None: every change the effect makes
    holds peaks at the ceiling. ``variants`` names other renderers of the
    same settings: other implementations of the effect that a user's audio
    may have been made with (another resampler's band limit). ``fxr build
    --variants SHARE`` renders that share of the examples with one of them,
    so that the networks learn the effect rather than one implementation of
    it, and the fixed-point check tests them too (:meth:`variant` gives one as
    an effect). A variant keeps every promise the effect declares (identity,
    projection, linear, ceiling): the registry-driven tests hold it to them.
    ``features`` are the feature kinds its estimators hear best, measured
    (docs/real-audio.md): ``fxr build --effect NAME`` stores them unless
    ``--features`` says otherwise, and ``fxr fit`` trains on the first unless
    told.

    Call the effect itself rather than ``render``: the call checks the
    parameters and the audio before rendering.
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    render: RenderFunction = field(repr=False)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    identity: Mapping[str, float] | None = None
    projection: float | None = None
    linear: bool = False
    ceiling: float | None = None
    features: tuple[str, ...] = ("mel",)
    gentle_peak_db: float | None = None
    variants: Mapping[str, RenderFunction] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(self.parameters))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))
        names = [p.name for p in self.parameters]
        if not names:
            raise ValueError(f"effect {self.name!r} declares no parameters")
        if len(set(names)) != len(names):
            raise ValueError(f"effect {self.name!r} declares a parameter twice: {names}")
        if self.identity is not None:
            object.__setattr__(self, "identity", MappingProxyType(self.check(self.identity)))
        if self.projection is not None and not self.projection > 0:  # also refuses NaN
            raise ValueError(f"effect {self.name!r}: projection must be above 0 or None")
        if self.ceiling is not None and not self.ceiling > 0:
            raise ValueError(f"effect {self.name!r}: ceiling must be above 0 or None")
        gentle = self.gentle_peak_db
        if gentle is not None and (self.ceiling is None or not gentle < 0):
            raise ValueError(
                f"effect {self.name!r}: gentle_peak_db needs a ceiling and must be below 0 dBFS"
            )
        object.__setattr__(self, "variants", MappingProxyType(dict(self.variants)))
        if not all(isinstance(k, str) and k and callable(v) for k, v in self.variants.items()):
            raise ValueError(
                f"effect {self.name!r}: variants must map non-empty names to render functions"
            )
        object.__setattr__(self, "features", tuple(self.features))
        unknown = [k for k in self.features if k not in KINDS]
        if not self.features or unknown:
            raise ValueError(
                f"effect {self.name!r}: features must be some of {', '.join(KINDS)}, "
                f"not {list(self.features)}"
            )

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Effect:
        """The effect that :meth:`as_dict` describes, without its render function.

        Datasets and runs store that description, so training, evaluation and
        estimation work where the plugin that made them is not installed;
        rendering then raises :class:`FxrError` naming the missing effect.
        """

        def cannot_render(*args: Any, **kwargs: Any) -> np.ndarray:
            raise FxrError(
                f"effect {spec['name']!r} is not installed; it is needed to render audio"
            )

        parameters = tuple(
            Parameter(
                p["name"],
                p["unit"],
                tuple(p["grid"]),
                tuple(p["range"]),
                p["scale"],
                p.get("description", ""),
            )
            for p in spec["parameters"]
        )
        return cls(
            spec["name"],
            spec["description"],
            parameters,
            cannot_render,
            spec["fixed"],
            spec.get("identity"),
            spec.get("projection"),
            bool(spec.get("linear", False)),
            spec.get("ceiling"),
            tuple(spec.get("features", ("mel",))),
            spec.get("gentle_peak_db"),
            {name: cannot_render for name in spec.get("variants", ())},
        )

    def __reduce__(self):
        # Build workers receive effects by pickle; mapping proxies do not pickle.
        identity = None if self.identity is None else dict(self.identity)
        fields = (self.name, self.description, self.parameters, self.render, dict(self.fixed))
        checks = (self.projection, self.linear, self.ceiling)
        variants = dict(self.variants)
        return (
            type(self),
            (*fields, identity, *checks, self.features, self.gentle_peak_db, variants),
        )

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise self._no_such_parameter(name)

    def _no_such_parameter(self, name: str) -> ParameterError:
        known = ", ".join(self.parameter_names)
        return ParameterError(f"{self.name} has no parameter {name!r}; its parameters: {known}")

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        """Validate a full setting: every parameter given, none unknown, all in range."""
        unknown = sorted(set(params) - set(self.parameter_names))
        missing = [n for n in self.parameter_names if n not in params]
        if unknown:
            raise self._no_such_parameter(unknown[0])
        if missing:
            raise ParameterError(f"{self.name} needs a value for {', '.join(missing)}")
        return {p.name: p.check(params[p.name]) for p in self.parameters}

    def normalize(self, params: Mapping[str, float]) -> np.ndarray:
        """A setting as a float32 vector in [0, 1], in parameter order."""
        params = self.check(params)
        return np.array([p.normalize(params[p.name]) for p in self.parameters], dtype=np.float32)

    def denormalize(self, vector: Any) -> dict[str, float]:
        """The inverse of :meth:`normalize`."""
        values = np.asarray(vector, dtype=np.float64).reshape(-1)
        if values.size != len(self.parameters):
            raise ParameterError(
                f"{self.name} has {len(self.parameters)} parameters, got {values.size} values"
            )
        return {p.name: p.denormalize(x) for p, x in zip(self.parameters, values, strict=True)}

    def grid(self) -> list[dict[str, float]]:
        """Every combination of grid values (the study's full sweep), first parameter slowest."""
        settings: list[dict[str, float]] = [{}]
        for p in self.parameters:
            settings = [{**s, p.name: v} for s in settings for v in p.grid]
        return settings

    def changing_grid(self) -> list[dict[str, float]]:
        """The grid settings other than the identity: those that can change audio."""
        identity = None if self.identity is None else dict(self.identity)
        return [s for s in self.grid() if s != identity]

    def variant(self, name: str) -> Effect:
        """This effect rendered by its variant ``name`` (see the class docstring).

        It is named ``effect[variant]``, so that what is cached per effect's
        name (a setting's probe, its matched filter) is cached per variant.
        """
        if name not in self.variants:
            known = ", ".join(self.variants) or "none"
            raise FxrError(f"effect {self.name!r} has no variant {name!r} (its variants: {known})")
        return replace(self, name=f"{self.name}[{name}]", render=self.variants[name], variants={})

    def implementations(self) -> list[Effect]:
        """The effect and each of its variants (:meth:`variant`): every way a setting of it
        may have been rendered, which the checks and analysis by synthesis try."""
        return [self, *(self.variant(name) for name in self.variants)]

    def __call__(self, audio: np.ndarray, sample_rate: float, **params: float) -> np.ndarray:
        """Render ``audio`` with the given setting, after checking both."""
        audio = np.asarray(audio)
        if audio.ndim not in (1, 2) or audio.shape[-1] == 0:
            raise ParameterError(
                f"audio must be shaped (samples,) or (channels, samples), got {audio.shape}"
            )
        if not (math.isfinite(sample_rate) and sample_rate > 0):
            raise ParameterError(f"sample rate must be a positive number, got {sample_rate}")
        if not np.isfinite(audio).all():
            raise ParameterError(f"{self.name}: the audio to render holds NaN or Inf samples")
        setting = self.check(params)
        out = self.render(
            np.ascontiguousarray(audio, dtype=np.float32), float(sample_rate), **setting
        )
        out = np.asarray(out, dtype=np.float32)
        if out.shape != audio.shape:
            raise RuntimeError(
                f"effect {self.name!r} returned shape {out.shape} for input {audio.shape}"
            )
        if not np.isfinite(out).all():
            # The setting was in range and the audio finite: the plugin's bug
            # (exit 1), caught here before NaN reaches a dataset or a file.
            shown = ", ".join(f"{k}={v:g}" for k, v in setting.items())
            raise RuntimeError(
                f"effect {self.name!r} turned finite audio into NaN or Inf at {shown} "
                "(a bug in the plugin that registers it)"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": [p.as_dict() for p in self.parameters],
            "fixed": dict(self.fixed),
            "identity": None if self.identity is None else dict(self.identity),
            "projection": self.projection,
            "linear": self.linear,
            "ceiling": self.ceiling,
            "features": list(self.features),
            "gentle_peak_db": self.gentle_peak_db,
            "variants": list(self.variants),
        }
