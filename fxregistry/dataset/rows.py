"""How the dataset's arrays are stored: row chunks, their encoding, their compression.

Large arrays (spectrograms, audio) are chunked by single rows, one example
or clip per chunk, so reading any batch reads exactly that batch. Build
workers encode those chunks themselves (:func:`encode_chunk`) and the writer
stores the bytes as they are (:func:`write_chunks`), so compression runs in
parallel, not in the writer.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import h5py
import numpy as np

__all__ = [
    "DEFLATE_LEVEL",
    "SPECTROGRAM_DTYPE",
    "create_rows",
    "create_table",
    "encode_chunk",
    "write_chunks",
]

# Compressed row chunks use HDF5's shuffle filter then deflate at this level.
DEFLATE_LEVEL = 1
# Spectrograms are stored in dB as float16: steps of at most 0.03 dB over the
# +-128 dB they span, half of float32's disk, pipe and write time.
SPECTROGRAM_DTYPE = "f2"


def create_rows(
    f: h5py.File, name: str, shape: tuple[int, ...], dtype: str, compress: bool
) -> h5py.Dataset:
    """A dataset chunked by single rows (one example or clip), optionally shuffle + gzip."""
    filters = {"compression": "gzip", "compression_opts": DEFLATE_LEVEL, "shuffle": True}
    return f.create_dataset(
        name, shape=shape, dtype=dtype, chunks=(1, *shape[1:]), **(filters if compress else {})
    )


def create_table(f: h5py.File, name: str, shape: tuple[int, ...]) -> h5py.Dataset:
    """Small per-example float32 arrays (parameters): large chunks, shuffle + gzip."""
    return f.create_dataset(
        name,
        shape=shape,
        dtype="f4",
        chunks=(min(4096, shape[0]), *shape[1:]),
        compression="gzip",
        compression_opts=DEFLATE_LEVEL,
        shuffle=True,
    )


def encode_chunk(row: np.ndarray, compress: bool) -> bytes:
    """The bytes HDF5 stores for one row chunk of :func:`create_rows`."""
    data = np.ascontiguousarray(row).tobytes()
    if not compress:
        return data
    # HDF5's shuffle filter: all first bytes of the elements, then all second bytes, ...
    shuffled = np.frombuffer(data, np.uint8).reshape(-1, row.itemsize).T.tobytes()
    return zlib.compress(shuffled, DEFLATE_LEVEL)


def write_chunks(dataset: h5py.Dataset, first_row: int, chunks: Sequence[bytes]) -> None:
    """Store encoded row chunks from ``first_row`` on, as they are."""
    zeros = (0,) * (dataset.ndim - 1)
    for i, chunk in enumerate(chunks):
        dataset.id.write_direct_chunk((first_row + i, *zeros), chunk)
