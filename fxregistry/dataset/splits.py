"""Which recordings go to train, valid and test, and where each split lies in the file.

A recording (or, with ``--split-by group``, a group such as a player) lies in
one split only. Recordings are processed split by split, so each split is
one contiguous range of clips and of examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import SPLITS
from fxregistry.errors import FxrError
from fxregistry.specs.source import Recording

__all__ = ["assign_splits", "plan_recordings", "quotas", "split_ranges_of"]


def assign_splits(keys: Sequence[str], fractions: Sequence[float], seed: int) -> dict[str, int]:
    """Shuffle the distinct keys with ``seed`` and cut them into train/valid/test.

    With three or more keys every split gets at least one, so a small build
    still has something to validate and test on.
    """
    distinct = sorted(set(keys))
    order = np.random.default_rng([seed, 0x5EED]).permutation(len(distinct))
    n = len(distinct)
    n_valid = round(fractions[1] * n)
    n_test = round(fractions[2] * n)
    if n >= 3:
        n_valid, n_test = max(1, n_valid), max(1, n_test)
    n_train = max(0, n - n_valid - n_test)
    bounds = (n_train, n_train + n_valid)
    return {
        distinct[i]: 0 if rank < bounds[0] else 1 if rank < bounds[1] else 2
        for rank, i in enumerate(order)
    }


def plan_recordings(
    recordings: Sequence[Recording], config: BuildConfig
) -> tuple[list[int], list[int]]:
    """``(split_of, order)``: each recording's split (0, 1, 2) and the order to cut them in.

    The order is split by split, and with ``--shard K/N`` only the K-th of N
    contiguous parts of it.
    """
    keys = [r.id if config.split_by == "recording" else (r.group or r.id) for r in recordings]
    split_of_key = assign_splits(keys, config.split, config.seed)
    split_of = [split_of_key[k] for k in keys]
    order = sorted(range(len(recordings)), key=lambda i: (split_of[i], i))
    if config.shard is not None:
        # Contiguous parts of the global order: shards 1..N laid end to end
        # are the unsharded build, which is what `fxr merge` relies on.
        k, n = config.shard
        order = [int(i) for i in np.array_split(np.asarray(order), n)[k - 1]]
        if not order:
            raise FxrError(f"shard {k}/{n} is empty: the source has {len(recordings)} recordings")
    return split_of, order


def quotas(max_clips: int | None, fractions: Sequence[float]) -> list[float]:
    """Clips each split may take under ``--max-clips``: at least one each when N >= 3."""
    if max_clips is None:
        return [math.inf] * 3
    shares = [math.floor(max_clips * f) for f in fractions]
    if max_clips >= 3:
        shares = [max(q, 1) if f > 0 else 0 for q, f in zip(shares, fractions, strict=True)]
    shares[0] += max_clips - sum(shares)
    return shares


def split_ranges_of(split: np.ndarray) -> dict[str, tuple[int, int]]:
    """``{"train": (start, stop), ...}`` of rows whose split codes (0, 1, 2) are sorted.

    An empty split is the empty range where it would stand.
    """
    split = np.asarray(split)
    if np.any(np.diff(split.astype(np.int16)) < 0):
        raise FxrError("the rows of each split are not contiguous")
    return {
        name: (int(np.searchsorted(split, i)), int(np.searchsorted(split, i, side="right")))
        for i, name in enumerate(SPLITS)
    }
