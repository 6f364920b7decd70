"""The options of ``fxr build``: everything that decides a dataset's contents.

Torch-free, so that the command line can read the options' defaults and
help without importing the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fxregistry.errors import FxrError

__all__ = ["DEFAULT_SOURCE", "BuildConfig", "parse_grid", "parse_level"]

DEFAULT_SOURCE = "synth"


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides the contents of a dataset (stored in the file)."""

    effect: str
    source: str = DEFAULT_SOURCE
    grid: str = "paper"
    clip_seconds: float = 2.0
    seed: int = 0
    max_clips: int | None = None
    min_level_db: float = -60.0
    level: str = "peak:-1"
    features: tuple[str, ...] = ("mel",)
    keep_audio: bool = False
    residual: bool = False  # also the spectrograms of wet minus dry audio
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_by: str = "recording"
    strict: bool = False
    compress: bool = False
    shard: tuple[int, int] | None = None  # (K, N): the K-th of N parts, 1 <= K <= N

    def __post_init__(self) -> None:
        parse_grid(self.grid)
        if self.shard is not None:
            k, n = self.shard
            if not 1 <= k <= n:
                raise FxrError(f"--shard K/N needs 1 <= K <= N, got {k}/{n}")
            if self.max_clips is not None:
                raise FxrError("--max-clips cannot be combined with --shard (quotas are global)")
        parse_level(self.level)
        if not self.clip_seconds > 0:
            raise FxrError(f"--clip-seconds must be positive, got {self.clip_seconds}")
        if self.max_clips is not None and self.max_clips < 1:
            raise FxrError(f"--max-clips must be at least 1, got {self.max_clips}")
        if len(self.split) != 3 or min(self.split) < 0 or not math.isclose(sum(self.split), 1):
            raise FxrError(f"--split needs three fractions that add up to 1, got {self.split}")
        if self.split_by not in ("recording", "group"):
            raise FxrError(f"--split-by must be 'recording' or 'group', not {self.split_by!r}")
        for kind in self.features:
            if kind not in ("mel", "stft"):
                raise FxrError(f"--features takes mel and/or stft, not {kind!r}")
        if not self.features:
            raise FxrError("--features needs at least one of mel, stft")


def parse_grid(text: str) -> int | None:
    """``"paper"`` -> None (the full grid); ``"random:N"`` -> N settings per clip."""
    if text == "paper":
        return None
    kind, _, n = text.partition(":")
    if kind == "random" and n.isdigit() and int(n) >= 1:
        return int(n)
    raise FxrError(f"--grid must be 'paper' or 'random:N' with N >= 1, got {text!r}")


def parse_level(text: str) -> tuple[str, float, float]:
    """``as-is``, ``peak:DB`` or ``random:LOW:HIGH`` (peak dBFS drawn per clip)."""
    kind, *values = text.split(":")
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        numbers = None
    if kind == "as-is" and not values:
        return ("as-is", 0.0, 0.0)
    if kind == "peak" and numbers and len(numbers) == 1:
        return ("peak", numbers[0], numbers[0])
    if kind == "random" and numbers and len(numbers) == 2 and numbers[0] <= numbers[1]:
        return ("random", numbers[0], numbers[1])
    raise FxrError(f"--level must be 'as-is', 'peak:DB' or 'random:LOW:HIGH', got {text!r}")
