"""The dataset file's header: every root attribute, read and written in one place.

``fxr build`` writes one HDF5 file per effect; docs/dataset-format.md
describes every dataset and attribute so it can be read with h5py alone.
:class:`DatasetHeader` is the only code that touches the file's root
attributes: build and merge write it, everything else reads it, through
:func:`open_dataset`, which also checks the file's structure against it.
Examples are stored split by split (train, then valid, then test), so each
split is one contiguous range that can be read in a single slice (its
bounds are computed by :func:`fxregistry.dataset.splits.split_ranges_of`
alone, and stored here). The module runs past 400 lines because it is the
format's one owner: the attributes and the structure check that trusts them
stay together rather than spread over modules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import h5py

from fxregistry import __version__
from fxregistry.audio.features import FeatureConfig
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.dataset.augment import AugmentPolicy
from fxregistry.dataset.identification import class_names
from fxregistry.errors import FxrError
from fxregistry.specs.effect import Effect

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SPLITS",
    "DatasetHeader",
    "mark_complete",
    "open_dataset",
    "read_header",
]

FORMAT = "fxr-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")
LEVELS = ("examples", "clips")

SplitRanges = dict[str, tuple[int, int]]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# How each attribute is stored: JSON for structures, "" for no shard.
def _stored(
    decode: Callable[[Any], Any], encode: Callable[[Any], Any] = lambda v: v, **kwargs: Any
) -> Any:
    return field(metadata={"decode": decode, "encode": encode}, **kwargs)


def _decode_effect(text: str) -> dict[str, Any]:
    spec = json.loads(text)
    if not isinstance(spec.get("parameters"), list):  # what every reader relies on
        raise ValueError("an effect_spec without parameters")
    return spec


def _decode_features(text: str) -> dict[str, FeatureConfig]:
    return {kind: FeatureConfig(**cfg) for kind, cfg in json.loads(text).items()}


def _encode_features(features: dict[str, FeatureConfig]) -> str:
    return json.dumps({kind: cfg.as_dict() for kind, cfg in features.items()})


def _decode_ranges(text: str) -> SplitRanges:
    return {name: (int(a), int(b)) for name, (a, b) in json.loads(text).items()}


def _decode_shard(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    k, n = text.split("/")
    return int(k), int(n)


def _encode_shard(shard: tuple[int, int] | None) -> str:
    return "" if shard is None else "{}/{}".format(*shard)


def _json_tuple(text: str) -> tuple:
    return tuple(json.loads(text))


@dataclass(frozen=True)
class DatasetHeader:
    """The root attributes of a dataset file, typed; the file stores them encoded.

    Field names are the attribute names. ``read`` gives an attribute that a
    file lacks its default (older files have no ``residual``, only merged
    files have ``merged_from``) and keeps attributes it does not know in
    ``extra``, so that ``write(read(f))`` gives back every attribute it found.
    """

    effect: str = _stored(str)
    effect_spec: dict[str, Any] = _stored(_decode_effect, json.dumps)  # Effect.as_dict()
    features: dict[str, FeatureConfig] = _stored(_decode_features, _encode_features)
    source: str = _stored(str)
    seed: int = _stored(int)
    grid: str = _stored(str)
    level: str = _stored(str)
    clip_seconds: float = _stored(float)
    min_level_db: float = _stored(float)
    split_fractions: tuple[float, float, float] = _stored(_json_tuple, json.dumps)
    split_by: str = _stored(str)
    keep_audio: bool = _stored(bool)
    build_config: dict[str, Any] = _stored(json.loads, json.dumps)  # asdict(BuildConfig)
    clips: int = _stored(int)
    examples: int = _stored(int)
    clips_split_ranges: SplitRanges = _stored(_decode_ranges, json.dumps)
    examples_split_ranges: SplitRanges = _stored(_decode_ranges, json.dumps)
    skipped_quiet_clips: int = _stored(int, default=0)
    skipped_files: int = _stored(int, default=0)
    residual: bool = _stored(bool, default=False)
    # How shares of the wet clips were delivered after the effect (--deliver, as shown:
    # "16bit:0.5,mp3:0.25"); None (not written) when none were, as in files before it.
    deliver: str | None = _stored(str, default=None)
    # The share of examples an effect's variant rendered (--variants); None (not written)
    # when none did, as in files before it.
    variants: float | None = _stored(float, default=None)
    shard: tuple[int, int] | None = _stored(_decode_shard, _encode_shard, default=None)
    # The --augment policy in full; None (not written) in files from before it, never augmented.
    augment: dict[str, Any] | None = _stored(json.loads, json.dumps, default=None)
    sample_rate: int = _stored(int, default=SAMPLE_RATE)
    format: str = _stored(str, default=FORMAT)
    format_version: int = _stored(int, default=FORMAT_VERSION)
    fxr_version: str = _stored(str, default=__version__)
    created: str = _stored(str, default_factory=_now)
    complete: bool = _stored(bool, default=False)  # set last, by mark_complete
    # A file over several effects (fxregistry.dataset.identification): each one's
    # Effect.as_dict(), in the order examples/effect indexes; not written when None.
    effects: tuple[dict[str, Any], ...] | None = _stored(_json_tuple, json.dumps, default=None)
    # The shards of a merged file, relative to it; not written when None.
    merged_from: tuple[str, ...] | None = _stored(_json_tuple, json.dumps, default=None)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    # Attributes every shard of one build shares: merge refuses shards that differ.
    SHARED_BY_SHARDS: ClassVar[tuple[str, ...]] = (
        "effect",
        "effect_spec",
        "features",
        "source",
        "seed",
        "grid",
        "level",
        "clip_seconds",
        "sample_rate",
        "min_level_db",
        "split_fractions",
        "split_by",
        "keep_audio",
        "residual",
        "deliver",
        "variants",
        "augment",
        "effects",
        "format_version",
    )

    @classmethod
    def read(cls, f: h5py.File, path: str | os.PathLike) -> DatasetHeader:
        """The header of the open file ``f`` (``path`` names it in errors)."""
        stored = _stored_fields()
        missing = [s.name for s in stored if s.name not in f.attrs and _required(s)]
        if missing:
            raise FxrError(f"{path}: truncated or damaged (no {missing[0]} attribute)")
        values = {}
        for spec in (s for s in stored if s.name in f.attrs):
            try:
                values[spec.name] = spec.metadata["decode"](f.attrs[spec.name])
            except (ValueError, TypeError, KeyError, AttributeError):  # bad JSON, a wrong type
                problem = f"its {spec.name} attribute is unreadable"
                raise FxrError(f"{path}: truncated or damaged ({problem})") from None
        names = {s.name for s in stored}
        return cls(
            **values, extra={key: value for key, value in f.attrs.items() if key not in names}
        )

    def attributes(self) -> dict[str, Any]:
        """The root attributes as stored: name -> value, JSON structures as strings."""
        stored = {
            spec.name: spec.metadata["encode"](getattr(self, spec.name))
            for spec in _stored_fields()
            if not (spec.name in _UNLESS_NONE and getattr(self, spec.name) is None)
        }
        return {**self.extra, **stored}

    def write(self, f: h5py.File) -> None:
        """Store every attribute on ``f``'s root."""
        for key, value in self.attributes().items():
            f.attrs[key] = value

    def split_ranges(self, level: str = "examples") -> SplitRanges:
        """``{"train": (start, stop), ...}`` of examples (or ``"clips"``) in each split."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
        return getattr(self, f"{level}_split_ranges")

    @property
    def classes(self) -> tuple[str, ...] | None:
        """What an identification model trained on this file tells apart (None: one effect)."""
        if self.effects is None:
            return None
        return class_names([spec["name"] for spec in self.effects])

    def augment_policy(self) -> AugmentPolicy:
        """The ``--augment`` policy the dry clips went through."""
        return AugmentPolicy() if self.augment is None else AugmentPolicy.from_dict(self.augment)

    def non_rendering_effect(self) -> Effect:
        """The stored effect, which can normalize but not render (see :meth:`Effect.from_dict`).

        ``effect`` itself is the stored name, as the attribute has always been.
        """
        return Effect.from_dict(self.effect_spec)


# Optional attributes that files without them never had: written only when set.
_UNLESS_NONE = ("merged_from", "augment", "effects", "deliver", "variants")


def _stored_fields() -> tuple[Field, ...]:
    return tuple(spec for spec in fields(DatasetHeader) if "decode" in spec.metadata)


def _required(spec: Field) -> bool:
    return spec.default is MISSING and spec.default_factory is MISSING


def mark_complete(f: h5py.File) -> None:
    """Flag ``f`` as finished: the last write, so an interrupted one is never taken as whole."""
    f.attrs["complete"] = True


def open_dataset(path: str | os.PathLike, contents: bool = True) -> h5py.File:
    """Open a complete fxr dataset for reading, or raise :class:`FxrError` saying why not.

    Checked: the header and (``contents``) that the datasets it promises are there, shaped
    as it implies, with row indices in range: every reader can trust the file's structure.
    """
    path = Path(path)
    if not path.exists():
        raise FxrError(f"{path}: no such file")
    if not path.is_file():
        raise FxrError(f"{path}: not a file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError:
        is_hdf5 = False
    if not is_hdf5:
        raise FxrError(f"{path}: not an fxr dataset (not an HDF5 file)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FxrError(f"{path}: cannot be opened, it may be truncated ({exc})") from None
    try:
        _check(f, path, contents)
    except OSError as exc:  # HDF5 could open the file but not read what it points to
        f.close()
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FxrError(f"{path}: truncated or damaged ({reason})") from None
    except BaseException:
        f.close()
        raise
    return f


def read_header(path: str | os.PathLike, contents: bool = True) -> DatasetHeader:
    """The header of the dataset at ``path``, checked as :func:`open_dataset` checks it.

    ``contents=False`` checks the header alone: merge compares shards' headers first, so
    that a shard of another build is called that rather than damaged.
    """
    with open_dataset(path, contents) as f:
        return DatasetHeader.read(f, path)


def _check(f: h5py.File, path: Path, contents: bool) -> None:
    # Raw look-ups: these attributes decide whether the header can be read at all.
    if f.attrs.get("format") != FORMAT:
        raise FxrError(f"{path}: not an fxr dataset (no format={FORMAT!r} attribute)")
    try:
        version = int(f.attrs.get("format_version", -1))
    except (TypeError, ValueError):
        version = -1
    if version != FORMAT_VERSION:
        raise FxrError(
            f"{path}: dataset format version {version}, but this fxr reads version "
            f"{FORMAT_VERSION} (written by fxr {f.attrs.get('fxr_version', '?')}); rebuild it"
        )
    if not bool(f.attrs.get("complete", False)):
        raise FxrError(f"{path}: the build that wrote this file did not finish; rebuild it")
    header = DatasetHeader.read(f, path)
    if contents:
        _check_layout(f, path, header)
        _check_virtual_sources(f, path)
        _check_indices(f, path, header)


def _layout(header: DatasetHeader, recordings: int) -> dict[str, tuple[int, ...]]:
    """The shape of every dataset the header says the file holds (docs/dataset-format.md)."""
    clips, examples = header.clips, header.examples
    # As the build cuts clips (fxregistry.dataset.clips.clip_samples, which imports this module).
    samples = int(round(header.clip_seconds * header.sample_rate))
    layout = {f"recordings/{name}": (recordings,) for name in ("group", "split", "source_index")}
    layout |= {f"clips/{name}": (clips,) for name in ("recording", "start", "gain_db", "split")}
    layout |= {"examples/clip": (examples,), "examples/split": (examples,)}
    parameters = len(header.effect_spec["parameters"])
    layout["examples/params"] = layout["examples/params_normalized"] = (examples, parameters)
    for kind, config in header.features.items():
        shape = config.shape(samples)
        layout[f"clips/dry_{kind}"] = (clips, *shape)
        layout[f"examples/wet_{kind}"] = (examples, *shape)
        if header.residual:
            layout[f"examples/residual_{kind}"] = (examples, *shape)
    if header.augment_policy().active:
        layout["clips/augment"] = (clips,)
    if header.effects is not None:
        layout["examples/effect"] = layout["examples/changed"] = (examples,)
    if header.keep_audio:
        layout["clips/audio"], layout["examples/audio"] = (clips, samples), (examples, samples)
    return layout


def _check_layout(f: h5py.File, path: Path, header: DatasetHeader) -> None:
    """Every dataset the header promises is there, with the rows and row shape it implies.

    Shapes only: nothing is read, so opening a file of any size stays instant.
    """

    def dataset(name: str) -> h5py.Dataset:
        found = f.get(name)
        if not isinstance(found, h5py.Dataset):
            raise FxrError(f"{path}: truncated or damaged: it has no {name} dataset")
        return found

    layout = _layout(header, dataset("recordings/id").shape[0])
    for name, expected in layout.items():
        shape = dataset(name).shape
        if shape[:1] != expected[:1]:
            said = "recordings/id has" if name.startswith("recordings/") else "the header says"
            raise FxrError(
                f"{path}: truncated or damaged: {name} has {shape[0] if shape else 0} rows, "
                f"{said} {expected[0]}"
            )
        if shape != expected:
            raise FxrError(
                f"{path}: truncated or damaged: {name} has rows of shape {shape[1:]}, the "
                f"header (features, clip_seconds, parameters) gives {expected[1:]}"
            )
    for level in LEVELS:
        count = getattr(header, level)
        for split, (start, stop) in header.split_ranges(level).items():
            if not 0 <= start <= stop <= count:
                problem = f"the {split} split's {level} [{start}, {stop}) overrun its {count}"
                raise FxrError(f"{path}: truncated or damaged: {problem}")


def _check_indices(f: h5py.File, path: Path, header: DatasetHeader) -> None:
    """Rows that point into another level point inside it (two small integer arrays)."""
    recordings = ("clips/recording", "recordings", f["recordings/id"].shape[0])
    for name, level, count in (("examples/clip", "clips", header.clips), recordings):
        values = f[name][:]
        if values.size and (values.min() < 0 or values.max() >= count):
            bad = values.min() if values.min() < 0 else values.max()
            raise FxrError(
                f"{path}: truncated or damaged: {name} points at row {bad} of {level}, "
                f"which has {count} rows"
            )


def _check_virtual_sources(f: h5py.File, path: Path) -> None:
    """A merged file reads zeros where a shard is missing: refuse it instead."""
    for group in ("clips", "examples"):
        for dataset in f[group].values():
            if not dataset.is_virtual:
                continue
            for source in dataset.virtual_sources():
                shard = Path(source.file_name)
                if not shard.is_absolute():
                    shard = path.parent / shard
                if not shard.is_file():
                    raise FxrError(
                        f"{path}: merged from shards, but {shard} is missing; keep the shards "
                        "beside the merged file or merge with --copy"
                    )
