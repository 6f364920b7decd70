"""Training data: one split of a dataset, as batches of wet and dry spectrograms.

A batch also carries the residual spectrograms (of wet minus dry audio) when
the input mode asks for them and the dataset was built with ``--residual``;
:func:`model_input` turns a batch into what a network sees.

Each split is one contiguous range of rows (docs/dataset-format.md), so a
split is read with one contiguous read per dataset. A split that fits in
memory is loaded once, as float16 tensors, and batches are gathered from
memory: nothing is faster. A split that does not fit is read batch by batch
by a DataLoader whose worker processes each open their own h5py handle
(h5py handles must not cross a fork).

Batch order is drawn from ``(seed, epoch)``, so a resumed run sees the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from fxregistry.dataset.header import SPLITS, DatasetHeader, open_dataset, read_header
from fxregistry.dataset.identification import labels
from fxregistry.errors import FxrError
from fxregistry.training.config import INPUTS, Normalization
from fxregistry.training.identify import one_hot

__all__ = [
    "Batch",
    "Batches",
    "Normalization",
    "SplitData",
    "StreamedSplit",
    "fits_in_memory",
    "load_split",
    "model_input",
    "open_split",
]


class Batch(NamedTuple):
    """Rows of one split: spectrograms in dB (``residual`` None unless loaded), targets."""

    wet: torch.Tensor  # (batch, bins, frames)
    dry: torch.Tensor
    residual: torch.Tensor | None
    targets: torch.Tensor  # (batch, parameters) normalized, or (batch, classes) one-hot

    def to(self, device: torch.device, pin: bool = False) -> Batch:
        def move(t):
            if t is None:
                return None
            if pin and not t.is_pinned():
                t = t.pin_memory()
            return t.to(device, non_blocking=pin)

        return Batch(*(move(t) for t in self))


def model_input(mode: str, normalization: Normalization, batch: Batch) -> torch.Tensor:
    """``(batch, channels, bins, frames)``: the channels of ``INPUTS[mode]``, normalized.

    The residual is scaled like the spectrograms (``fixed``: its dB on the same
    scale, so its level, e.g. that of an added noise floor, stays absolute).
    """
    channels = [getattr(batch, name) for name in INPUTS[mode]]
    if any(c is None for c in channels):
        raise FxrError(f"input {mode!r} needs residual spectrograms: build with --residual")
    return torch.stack([normalization(c) for c in channels], dim=1)


@dataclass
class SplitData:
    """One split in memory: wet rows, the split's dry clips, targets."""

    wet: torch.Tensor  # (examples, bins, frames) float16 dB
    dry: torch.Tensor  # (clips of the split, bins, frames) float16 dB
    clip: torch.Tensor  # (examples,) row of ``dry`` for each example
    targets: torch.Tensor  # (examples, parameters) float32, normalized
    residual: torch.Tensor | None = None  # (examples, bins, frames) float16 dB

    def __len__(self) -> int:
        return self.targets.shape[0]

    def __getitem__(self, rows) -> Batch:
        rows = torch.as_tensor(rows)
        residual = None if self.residual is None else self.residual[rows]
        return Batch(self.wet[rows], self.dry[self.clip[rows]], residual, self.targets[rows])


class StreamedSplit(torch.utils.data.Dataset):
    """One split read from the file, a whole batch per item (``dataset[list_of_rows]``)."""

    def __init__(self, path: str | os.PathLike, split: str, kind: str, residual: bool = False):
        self.path, self.kind, self.residual = str(path), kind, residual
        header = read_header(path)
        self.examples = header.split_ranges()[split]
        self.classes = header.classes
        if residual:
            _check_residual(header, path)
        self._file = None
        self._pid = None

    def __len__(self) -> int:
        return self.examples[1] - self.examples[0]

    def _handle(self):
        # One handle per process: DataLoader workers are forked or spawned.
        if self._pid != os.getpid():
            import h5py

            self._file, self._pid = h5py.File(self.path, "r"), os.getpid()
        return self._file

    def __getitem__(self, rows) -> Batch:
        f = self._handle()
        absolute = np.sort(np.asarray(rows, dtype=np.int64)) + self.examples[0]
        wet = f[f"examples/wet_{self.kind}"][absolute]
        clips = f["examples/clip"][absolute]
        unique, inverse = np.unique(clips, return_inverse=True)
        dry = f[f"clips/dry_{self.kind}"][unique][inverse]
        targets = _targets(f, self.classes, absolute)
        residual = None
        if self.residual:
            residual = torch.from_numpy(f[f"examples/residual_{self.kind}"][absolute])
        wet, dry, targets = (torch.from_numpy(a) for a in (wet, dry, targets))
        return Batch(wet, dry, residual, targets)

    def __getstate__(self):
        return {**self.__dict__, "_file": None, "_pid": None}


def _targets(f, classes: tuple[str, ...] | None, rows) -> np.ndarray:
    """What a model learns of ``rows``: the normalized parameters, or for a file over
    several effects each example's class, one-hot (fxregistry.dataset.identification)."""
    if classes is None:
        return f["examples/params_normalized"][rows]
    return one_hot(labels(f["examples/effect"][rows], f["examples/changed"][rows]), len(classes))


def _check_residual(header: DatasetHeader, path: str | os.PathLike) -> None:
    if not header.residual:
        raise FxrError(
            f"{path} has no residual spectrograms; rebuild it with `fxr build --residual` "
            "or train with --input pair"
        )


def split_bytes(path: str | os.PathLike, split: str, kind: str, residual: bool = False) -> int:
    """Bytes that :func:`load_split` would hold in memory."""
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
        start, stop = header.split_ranges()[split]
        c_start, c_stop = header.split_ranges("clips")[split]
        row = int(np.prod(f[f"examples/wet_{kind}"].shape[1:])) * 2
        return ((1 + residual) * (stop - start) + c_stop - c_start) * row


def fits_in_memory(nbytes: int) -> bool:
    """Whether ``nbytes`` is under half of the memory available now."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return nbytes < 2**30
    return nbytes < available // 2


def load_split(path: str | os.PathLike, split: str, kind: str, residual: bool = False) -> SplitData:
    """Read one split into memory with contiguous reads (the residual too, if asked)."""
    if split not in SPLITS:
        raise FxrError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    with open_dataset(path) as f:
        header = DatasetHeader.read(f, path)
        if kind not in header.features:
            raise FxrError(
                f"{path} has no {kind!r} features (it has: {', '.join(header.features)})"
            )
        start, stop = header.split_ranges()[split]
        c_start, c_stop = header.split_ranges("clips")[split]
        clip = f["examples/clip"][start:stop].astype(np.int64) - c_start
        if residual:
            _check_residual(header, path)
        return SplitData(
            wet=torch.from_numpy(f[f"examples/wet_{kind}"][start:stop]),
            dry=torch.from_numpy(f[f"clips/dry_{kind}"][c_start:c_stop]),
            clip=torch.from_numpy(clip),
            targets=torch.from_numpy(_targets(f, header.classes, slice(start, stop))),
            residual=(
                torch.from_numpy(f[f"examples/residual_{kind}"][start:stop]) if residual else None
            ),
        )


class Batches:
    """Batches of one split for an epoch: :class:`Batch` es of tensors on ``device``.

    ``data`` is a :class:`SplitData` (gathered in this process) or a
    :class:`StreamedSplit` (read by ``workers`` DataLoader processes).
    """

    def __init__(
        self,
        data: SplitData | StreamedSplit,
        batch_size: int,
        device: torch.device,
        shuffle: bool,
        seed: int = 0,
        workers: int = 0,
        part: tuple[int, int] = (0, 1),
    ):
        self.data, self.batch_size, self.device = data, batch_size, device
        self.shuffle, self.seed, self.workers = shuffle, seed, workers
        # (rank, processes): this process's slice of every batch, as DistributedSampler
        # would give it, so that the processes together take the global batch.
        self.rank, self.processes = part

    def __len__(self) -> int:
        return len(self.order(0))

    def order(self, epoch: int) -> list[torch.Tensor]:
        n = len(self.data)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            rows = torch.randperm(n, generator=generator)
        else:
            rows = torch.arange(n)
        batches = list(rows.split(self.batch_size))
        if self.processes > 1:
            # A last batch too small for every process to get a row is dropped.
            batches = [b[self.rank :: self.processes] for b in batches if len(b) >= self.processes]
        return batches

    def epoch(self, epoch: int, skip: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch``, after the first ``skip`` (for a resumed run)."""
        batches = self.order(epoch)[skip:]
        pin = self.device.type == "cuda"
        if isinstance(self.data, SplitData):
            loaded = (self.data[rows] for rows in batches)
        else:
            loaded = torch.utils.data.DataLoader(
                self.data,
                sampler=[rows.tolist() for rows in batches],
                batch_size=None,
                num_workers=self.workers,
                pin_memory=pin,
            )
        for batch in loaded:
            yield Batch(*batch).to(self.device, pin)


def open_split(
    path: str | Path,
    split: str,
    kind: str,
    in_memory: bool | None = None,
    residual: bool = False,
) -> SplitData | StreamedSplit:
    """The split in memory when it fits (or ``in_memory=True``), else streamed."""
    if in_memory is None:
        in_memory = fits_in_memory(split_bytes(path, split, kind, residual))
    if in_memory:
        return load_split(path, split, kind, residual)
    return StreamedSplit(path, split, kind, residual)
