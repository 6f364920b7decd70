"""``fxr merge``: shards of one build -> one dataset, without copying the data.

``fxr build --shard K/N`` builds the K-th of N contiguous parts of the
build's global recording order (splits decided over all recordings, so every
shard agrees), so the shards laid end to end are the unsharded build. The
merged file maps its large arrays (spectrograms, audio) onto the shards with
HDF5 virtual datasets, by paths relative to the merged file: keep the shards
beside it, or pass ``copy`` for a self-contained file. Index arrays, whose
values must be offset (a clip's recording row, an example's clip row), and
the other small arrays are written into the merged file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from fxregistry.dataset.header import SPLITS, open_dataset
from fxregistry.errors import FxrError

__all__ = ["merge", "MUST_AGREE"]

# Root attributes that every shard of one build has in common.
MUST_AGREE = (
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
    "format_version",
)
# dataset -> the per-shard count its values index into, to offset them by.
OFFSETS = {"clips/recording": "recordings", "examples/clip": "clips"}
VIRTUAL_MIN_ROW_BYTES = 1024  # rows this large stay in the shards


def _shard_of(path: Path, f: h5py.File) -> tuple[int, int]:
    text = str(f.attrs.get("shard", ""))
    if not text:
        raise FxrError(f"{path}: not a shard (built without --shard)")
    k, n = text.split("/")
    return int(k), int(n)


def _check_shards(paths: list[Path]) -> list[Path]:
    """The shards in order 1..N, or a clear refusal."""
    found: dict[int, Path] = {}
    total = None
    first_attrs = None
    for path in paths:
        with open_dataset(path) as f:
            k, n = _shard_of(path, f)
            attrs = {key: f.attrs.get(key, False) for key in MUST_AGREE}
        if total is None:
            total, first_attrs, first = n, attrs, path
        elif n != total:
            raise FxrError(f"{path} is shard {k}/{n}, but {first} is one of {total}")
        for key in MUST_AGREE:
            if not np.array_equal(attrs[key], first_attrs[key]):
                raise FxrError(
                    f"{path} and {first} come from different builds: their {key} differ "
                    f"({attrs[key]!r} vs {first_attrs[key]!r})"
                )
        if k in found:
            raise FxrError(f"shard {k}/{n} given twice: {found[k]} and {path}")
        found[k] = path
    missing = sorted(set(range(1, total + 1)) - set(found))
    if missing:
        raise FxrError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{k}/{total}' for k in missing)} "
            "missing"
        )
    return [found[k] for k in range(1, total + 1)]


def merge(out: str | os.PathLike, shards: list[str | os.PathLike], copy: bool = False) -> Path:
    """Write ``out`` from ``shards``; see the module docstring."""
    out = Path(out)
    if not shards:
        raise FxrError("fxr merge needs at least one shard")
    paths = _check_shards([Path(s) for s in shards])
    if out.resolve() in {p.resolve() for p in paths}:
        raise FxrError(f"{out} is one of the shards")
    partial = out.with_name(out.name + ".partial")
    files = [h5py.File(p, "r") for p in paths]
    try:
        names: list[str] = []
        files[0].visit(lambda n: names.append(n) if isinstance(files[0][n], h5py.Dataset) else None)
        counts = {
            level: [int(f.attrs[level]) if level != "recordings" else f["recordings/id"].shape[0]
                    for f in files]
            for level in ("recordings", "clips", "examples")
        }  # fmt: skip
        with h5py.File(partial, "w") as merged:
            for key, value in files[0].attrs.items():
                merged.attrs[key] = value
            merged.attrs["complete"] = False
            for name in names:
                _merge_dataset(merged, name, files, paths, out.parent, counts, copy)
            for level in ("clips", "examples"):
                merged.attrs[level] = sum(counts[level])
                split = merged[f"{level}/split"][:]
                ranges = {}
                for i, s in enumerate(SPLITS):
                    rows = np.flatnonzero(split == i)
                    ranges[s] = [int(rows[0]), int(rows[-1]) + 1] if rows.size else [0, 0]
                    if rows.size and rows.size != ranges[s][1] - ranges[s][0]:
                        raise FxrError(f"the shards' {s} rows are not contiguous once merged")
                merged.attrs[f"{level}_split_ranges"] = json.dumps(ranges)
            for key in ("skipped_quiet_clips", "skipped_files"):
                merged.attrs[key] = sum(int(f.attrs[key]) for f in files)
            config = json.loads(files[0].attrs["build_config"])
            merged.attrs["build_config"] = json.dumps({**config, "shard": None})
            merged.attrs["shard"] = ""
            merged.attrs["merged_from"] = json.dumps(
                [os.path.relpath(p.resolve(), out.parent.resolve()) for p in paths]
            )
            merged.attrs["complete"] = True
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        for f in files:
            f.close()
    os.replace(partial, out)
    return out


def _merge_dataset(merged, name, files, paths, folder, counts, copy) -> None:
    parts = [f[name] for f in files]
    first = parts[0]
    rows = [p.shape[0] for p in parts]
    shape = (sum(rows), *first.shape[1:])
    row_bytes = int(np.prod(first.shape[1:], dtype=np.int64)) * first.dtype.itemsize
    if name in OFFSETS:
        level = OFFSETS[name]
        offsets = np.cumsum([0] + counts[level][:-1])
        data = np.concatenate([p[:] + o for p, o in zip(parts, offsets, strict=True)])
        merged.create_dataset(name, data=data.astype(first.dtype))
    elif copy or first.ndim == 1 or row_bytes < VIRTUAL_MIN_ROW_BYTES:
        target = merged.create_dataset(
            name,
            shape=shape,
            dtype=first.dtype,
            chunks=first.chunks,
            compression=first.compression,
            compression_opts=first.compression_opts,
            shuffle=first.shuffle,
        )
        start = 0
        for p in parts:
            for a in range(0, p.shape[0], 256):  # bounded memory
                b = min(a + 256, p.shape[0])
                target[start + a : start + b] = p[a:b]
            start += p.shape[0]
    else:
        layout = h5py.VirtualLayout(shape=shape, dtype=first.dtype)
        start = 0
        for path, p in zip(paths, parts, strict=True):
            # Relative to the merged file, so the folder can move as a whole.
            relative = os.path.relpath(path.resolve(), folder.resolve())
            layout[start : start + p.shape[0]] = h5py.VirtualSource(
                relative, name, shape=p.shape, dtype=p.dtype
            )
            start += p.shape[0]
        merged.create_virtual_dataset(name, layout)
