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

import os
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from fxregistry.dataset.header import DatasetHeader, mark_complete, read_header
from fxregistry.dataset.splits import split_ranges_of
from fxregistry.errors import FxrError
from fxregistry.files import atomic_write

__all__ = ["merge"]

# dataset -> the per-shard count its values index into, to offset them by.
OFFSETS = {"clips/recording": "recordings", "examples/clip": "clips"}
VIRTUAL_MIN_ROW_BYTES = 1024  # rows this large stay in the shards


def _check_shards(paths: list[Path]) -> list[tuple[Path, DatasetHeader]]:
    """The shards and their headers in order 1..N, or a clear refusal.

    Headers are compared before each shard's contents are checked: a shard of
    another build is refused as that, not as a file whose datasets disagree
    with the header this build expects.
    """
    found: dict[int, tuple[Path, DatasetHeader]] = {}
    first: tuple[Path, DatasetHeader] | None = None
    for path in paths:
        header = read_header(path, contents=False)
        if header.shard is None:
            raise FxrError(f"{path}: not a shard (built without --shard)")
        k, n = header.shard
        if first is None:
            first = path, header
        first_path, first_header = first
        total = first_header.shard[1]
        if n != total:
            raise FxrError(f"{path} is shard {k}/{n}, but {first_path} is one of {total}")
        stored, first_stored = header.attributes(), first_header.attributes()
        for key in DatasetHeader.SHARED_BY_SHARDS:
            # .get: an optional attribute is absent where it is None (a file of one effect)
            if stored.get(key) != first_stored.get(key):
                raise FxrError(
                    f"{path} and {first_path} come from different builds: their {key} differ "
                    f"({stored.get(key)!r} vs {first_stored.get(key)!r})"
                )
        if k in found:
            raise FxrError(f"shard {k}/{n} given twice: {found[k][0]} and {path}")
        found[k] = path, header
    missing = sorted(set(range(1, total + 1)) - set(found))
    if missing:
        raise FxrError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{k}/{total}' for k in missing)} "
            "missing"
        )
    for path in paths:
        read_header(path)  # now the contents: every dataset its header promises
    return [found[k] for k in range(1, total + 1)]


def merge(out: str | os.PathLike, shards: list[str | os.PathLike], copy: bool = False) -> Path:
    """Write ``out`` from ``shards``; see the module docstring."""
    out = Path(out)
    if not shards:
        raise FxrError("fxr merge needs at least one shard")
    checked = _check_shards([Path(s) for s in shards])
    paths = [path for path, _ in checked]
    if out.resolve() in {p.resolve() for p in paths}:
        raise FxrError(f"{out} is one of the shards")
    with atomic_write(out) as partial:
        files = [h5py.File(p, "r") for p in paths]
        try:
            names: list[str] = []
            files[0].visit(
                lambda n: names.append(n) if isinstance(files[0][n], h5py.Dataset) else None
            )
            counts = {
                "recordings": [f["recordings/id"].shape[0] for f in files],
                "clips": [header.clips for _, header in checked],
                "examples": [header.examples for _, header in checked],
            }
            header = _merged_header(checked, files, out)
            with h5py.File(partial, "w") as merged:
                header.write(merged)
                for name in names:
                    _merge_dataset(merged, name, files, paths, out.parent, counts, copy)
                mark_complete(merged)
        finally:
            for f in files:
                f.close()
    return out


def _merged_header(
    checked: list[tuple[Path, DatasetHeader]], files: list[h5py.File], out: Path
) -> DatasetHeader:
    """The first shard's header with the whole build's counts, ranges and config."""
    headers = [header for _, header in checked]
    ranges = {}
    for level in ("clips", "examples"):
        split = np.concatenate([f[f"{level}/split"][:] for f in files])
        try:
            ranges[level] = split_ranges_of(split)
        except FxrError:
            raise FxrError(
                "the shards' rows of each split are not contiguous once merged"
            ) from None
    return replace(
        headers[0],
        clips=sum(h.clips for h in headers),
        examples=sum(h.examples for h in headers),
        clips_split_ranges=ranges["clips"],
        examples_split_ranges=ranges["examples"],
        skipped_quiet_clips=sum(h.skipped_quiet_clips for h in headers),
        skipped_files=sum(h.skipped_files for h in headers),
        build_config={**headers[0].build_config, "shard": None},
        shard=None,
        merged_from=tuple(
            os.path.relpath(path.resolve(), out.parent.resolve()) for path, _ in checked
        ),
        complete=False,
    )


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
