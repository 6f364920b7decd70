"""The record of a fit: one ``metrics.jsonl`` row and one console line per epoch.

A row's keys (``stage``, ``task``, ``epoch``, ``train_loss``, ``valid_loss``,
``lr``, ``seconds``, ``samples_per_s``) are documented in docs/training.md;
``loss.png`` and the benchmarks read them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fxregistry.errors import FxrError
from fxregistry.files import append_text, atomic_write
from fxregistry.training.config import StageName, Task

__all__ = ["EpochMetrics", "MetricsLogger", "read_metrics"]


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch's numbers, summed over every process."""

    stage: StageName
    task: Task
    epoch: int  # from 1
    train_loss: float
    valid_loss: float | None  # None without a validation split
    lr: float  # the rate the epoch trained with
    seconds: float
    samples: int

    def as_row(self) -> dict[str, Any]:
        return {
            "stage": StageName(self.stage).value,
            "task": Task(self.task).value,
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "valid_loss": self.valid_loss,
            "lr": self.lr,
            "seconds": round(self.seconds, 3),
            "samples_per_s": round(self.samples / self.seconds, 1),
        }


class MetricsLogger:
    """Appends each epoch's row to ``metrics.jsonl`` (when ``write``) and says it in a line."""

    def __init__(self, path: Path, log: Callable[[str], None], write: bool = True):
        self.path, self.log, self.write = Path(path), log, write

    def epoch(self, metrics: EpochMetrics, epochs: int) -> None:
        """Record ``metrics``, an epoch of a stage of ``epochs`` epochs."""
        row = metrics.as_row()
        if self.write:
            append_text(self.path, json.dumps(row) + "\n")
        valid = "-" if metrics.valid_loss is None else f"{metrics.valid_loss:.4f}"
        self.log(
            f"{row['stage']} epoch {row['epoch']}/{epochs}: train {row['train_loss']:.4f}, "
            f"valid {valid}, {row['samples_per_s']:.0f} samples/s"
        )

    def truncate(self, stages: Sequence[StageName], stage: int, epoch: int) -> None:
        """Drop the rows after epoch ``epoch`` of ``stages[stage]``: a resumed fit writes them
        again (they were written after the checkpoint it resumes from)."""
        if not self.path.exists():
            return
        names = [StageName(s).value for s in stages]
        kept = []
        for line, row in _lines(self.path):
            if (names.index(row["stage"]), row["epoch"]) <= (stage, epoch):
                kept.append(line)  # as written, byte for byte
        with atomic_write(self.path) as partial:
            partial.write_text("".join(line + "\n" for line in kept))


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl``; none when it is missing."""
    path = Path(path)
    if not path.exists():
        return []
    return [row for _, row in _lines(path)]


def _lines(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Each non-empty line of ``path`` with its row; :class:`FxrError` naming a damaged one."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or not {"stage", "epoch"} <= row.keys():
            raise FxrError(f"{path}: line {number} is not a metrics row (damaged)")
        rows.append((line, row))
    return rows
