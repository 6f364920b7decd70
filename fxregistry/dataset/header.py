"""The dataset file: its layout, and opening it safely.

``fxr build`` writes one HDF5 file per effect; docs/dataset-format.md
describes every dataset and attribute so it can be read with h5py alone.
Examples are stored split by split (train, then valid, then test), so each
split is one contiguous range that can be read in a single slice.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fxregistry.audio.features import FeatureConfig
from fxregistry.errors import FxrError
from fxregistry.specs.effect import Effect, Parameter

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SPLITS",
    "open_dataset",
    "describe",
    "effect_spec",
    "feature_configs",
]

FORMAT = "fxr-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")


# Compressed row chunks use HDF5's shuffle filter then deflate at this level;
# build workers encode them themselves (see encode_chunk).
DEFLATE_LEVEL = 1


def create_rows(
    f: h5py.File, name: str, shape: tuple[int, ...], dtype: str, compress: bool
) -> h5py.Dataset:
    """A dataset chunked by single rows (one example or clip), optionally shuffle + gzip.

    One row per chunk means reading any batch reads exactly that batch.
    """
    filters = {"compression": "gzip", "compression_opts": DEFLATE_LEVEL, "shuffle": True}
    return f.create_dataset(
        name, shape=shape, dtype=dtype, chunks=(1, *shape[1:]), **(filters if compress else {})
    )


def encode_chunk(row: np.ndarray, compress: bool) -> bytes:
    """The bytes HDF5 stores for one row chunk of :func:`create_rows`.

    Build workers encode their rows with this and the writer stores them with
    ``write_direct_chunk``, so any compression runs in parallel, not in the writer.
    """
    data = np.ascontiguousarray(row).tobytes()
    if not compress:
        return data
    # HDF5's shuffle filter: all first bytes of the elements, then all second bytes, ...
    shuffled = np.frombuffer(data, np.uint8).reshape(-1, row.itemsize).T.tobytes()
    return zlib.compress(shuffled, DEFLATE_LEVEL)


def open_dataset(path: str | os.PathLike) -> h5py.File:
    """Open a complete fxr dataset for reading, or raise :class:`FxrError` saying why not."""
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
        _check(f, path)
    except Exception:
        f.close()
        raise
    return f


def _check(f: h5py.File, path: Path) -> None:
    if f.attrs.get("format") != FORMAT:
        raise FxrError(f"{path}: not an fxr dataset (no format={FORMAT!r} attribute)")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise FxrError(
            f"{path}: dataset format version {version}, but this fxr reads version "
            f"{FORMAT_VERSION} (written by fxr {f.attrs.get('fxr_version', '?')}); rebuild it"
        )
    if not bool(f.attrs.get("complete", False)):
        raise FxrError(f"{path}: the build that wrote this file did not finish; rebuild it")
    n = int(f.attrs["examples"])
    for name in ("examples/clip", "examples/params", "examples/split"):
        if name not in f or f[name].shape[0] != n:
            raise FxrError(f"{path}: truncated or damaged ({name} is missing or short)")
    _check_virtual_sources(f, path)


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


def effect_spec(f: h5py.File) -> dict[str, Any]:
    """The effect's description as stored (name, parameters with grids, ranges, scales)."""
    return json.loads(f.attrs["effect_spec"])


def stored_effect(f: h5py.File) -> Effect:
    """The stored effect as an :class:`Effect` that can normalize but not render.

    Training and evaluation need only the parameter spec, so a dataset stays
    usable where the plugin that made it is not installed.
    """
    return effect_from_spec(effect_spec(f))


def effect_from_spec(spec: dict[str, Any]) -> Effect:
    """An :class:`Effect` from its ``list-effects --json`` description; it cannot render."""

    def cannot_render(*args, **kwargs):
        raise FxrError(f"effect {spec['name']!r} is not installed; it is needed to render audio")

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
    return Effect(
        spec["name"],
        spec["description"],
        parameters,
        cannot_render,
        spec["fixed"],
        spec.get("identity"),
    )


def feature_configs(f: h5py.File) -> dict[str, FeatureConfig]:
    """Stored feature kinds, in order (the first is the default for training)."""
    return {kind: FeatureConfig(**cfg) for kind, cfg in json.loads(f.attrs["features"]).items()}


def split_ranges(f: h5py.File, level: str = "examples") -> dict[str, tuple[int, int]]:
    """``{"train": (start, stop), ...}`` of examples (or clips) in each split."""
    return {k: tuple(v) for k, v in json.loads(f.attrs[f"{level}_split_ranges"]).items()}


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """What ``fxr inspect --json`` prints."""
    with open_dataset(path) as f:
        ranges = split_ranges(f)
        clip_ranges = split_ranges(f, "clips")
        recordings = f["recordings/split"][:]
        return {
            "path": str(path),
            "effect": str(f.attrs["effect"]),
            "examples": int(f.attrs["examples"]),
            "clips": int(f.attrs["clips"]),
            "recordings": int(recordings.size),
            "splits": {s: ranges[s][1] - ranges[s][0] for s in SPLITS},
            "split_clips": {s: clip_ranges[s][1] - clip_ranges[s][0] for s in SPLITS},
            "split_recordings": {s: int(np.sum(recordings == i)) for i, s in enumerate(SPLITS)},
            "parameters": effect_spec(f)["parameters"],
            "fixed": effect_spec(f)["fixed"],
            "features": {k: c.as_dict() for k, c in feature_configs(f).items()},
            "source": str(f.attrs["source"]),
            "seed": int(f.attrs["seed"]),
            "grid": str(f.attrs["grid"]),
            "level": str(f.attrs["level"]),
            "clip_seconds": float(f.attrs["clip_seconds"]),
            "split_by": str(f.attrs["split_by"]),
            "keep_audio": bool(f.attrs["keep_audio"]),
            "residual": bool(f.attrs.get("residual", False)),
            "skipped_quiet_clips": int(f.attrs["skipped_quiet_clips"]),
            "skipped_files": int(f.attrs["skipped_files"]),
            "fxr_version": str(f.attrs["fxr_version"]),
            "format_version": int(f.attrs["format_version"]),
            "created": str(f.attrs["created"]),
            "bytes": Path(path).stat().st_size,
        }
