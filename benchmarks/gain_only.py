"""How often an effect left the audio a mere gain change of itself, and what that costs blind.

    .venv/bin/python benchmarks/gain_only.py DATASET.h5 [DATASET.h5 ...] [--tag T]

An example is *gain-only* when its wet spectrogram is the dry one shifted by
one constant in dB: every Mel bin the dry fills (above -80 dB) moves by the
same amount, within ``--tolerance`` dB (standard deviation). A limiter whose
input never reaches its threshold does exactly that (JUCE's limiter adds
make-up gain of its threshold and nothing else).

For such an example no wet-only estimator can tell the settings apart unless
it knows the dry's level: each setting, fed the dry at another level, gives
the same wet. Its best answer is then a constant, and the mean absolute
error of the best constant (the per-parameter median of those examples'
normalized settings) over them, times their share, is the blind floor this
script reports: the MAE that a wet-only model cannot go below on that data,
whatever it learns. With the dry known, a gain-only example still hides
every parameter that acts only on what crosses a threshold (the limiter's
release); the identifiability floor of ``real_audio.py`` measures that case.

Writes benchmarks/results/gain_only.{md,json} (or gain_only-TAG.*).
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
from report import save

from fxregistry.audio.features import GAIN_TOLERANCE_DB, gain_change_only
from fxregistry.dataset.header import open_dataset


def measure(path: Path, tolerance_db: float, limit: int) -> dict:
    with open_dataset(path) as f:
        n = min(limit, len(f["examples/clip"]))
        rows = np.linspace(0, len(f["examples/clip"]) - 1, n).astype(int)
        wet = f["examples/wet_mel"][rows].astype(np.float32)
        dry = f["clips/dry_mel"][:][f["examples/clip"][rows]].astype(np.float32)
        targets = f["examples/params_normalized"][rows]
    only = gain_change_only(wet, dry, tolerance_db)
    share = float(only.mean())
    floor = 0.0
    if only.any():
        hidden = targets[only]
        floor = share * float(np.abs(hidden - np.median(hidden, axis=0)).mean())
    return {"n": int(n), "gain_only": share, "blind_floor_mae": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument(
        "--tolerance", type=float, default=GAIN_TOLERANCE_DB, help="dB (standard deviation)"
    )
    parser.add_argument("--limit", type=int, default=2000, help="examples per dataset, evenly")
    parser.add_argument("--tag")
    args = parser.parse_args()
    results = {str(p): measure(p, args.tolerance, args.limit) for p in args.datasets}
    lines = [
        "## Gain-only examples and the blind floor",
        "",
        f"Command: `.venv/bin/python benchmarks/gain_only.py {' '.join(map(str, args.datasets))}`"
        "  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Tolerance {args.tolerance} dB; "
        f"at most {args.limit} examples per dataset, evenly spaced.",
        "",
        "| dataset | examples | gain-only | blind floor (MAE) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for path, r in results.items():
        lines.append(
            f"| {Path(path).name} | {r['n']} | {r['gain_only']:.0%} | {r['blind_floor_mae']:.3f} |"
        )
    save(f"gain_only-{args.tag}" if args.tag else "gain_only", lines, {"results": results})


if __name__ == "__main__":
    main()
