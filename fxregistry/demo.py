"""``make demo``: the main job on the built-in default source.

For now it takes one clip of the default source and renders it through every
registered effect at a mid-grid setting, writes the results to
``demo-output/`` for listening, and prints how much each effect changed it.
Run it with ``python -m fxregistry.demo``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import registry
from .audio import SAMPLE_RATE, rms_db, write_audio
from .features import spectral_distance

DEFAULT_SOURCE = "synth"
OUTPUT = Path("demo-output")


def main(out: Path = OUTPUT, seconds: float = 2.0) -> None:
    recording = registry.get_source(DEFAULT_SOURCE).recordings("1", 0)[0]
    dry = recording.load()[: int(seconds * SAMPLE_RATE)]
    write_audio(out / "dry.wav", dry, SAMPLE_RATE)
    print(
        f"dry: {seconds:g} s of {DEFAULT_SOURCE} recording {recording.id}, "
        f"{rms_db(dry):.1f} dBFS RMS -> {out / 'dry.wav'}"
    )
    for name, reg in registry.registrations("effect").items():
        effect = reg.item
        grid = effect.grid()
        setting = grid[len(grid) // 2]
        wet = effect(dry, SAMPLE_RATE, **setting)
        path = write_audio(out / f"{name}.wav", wet, SAMPLE_RATE)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in setting.items())
        print(
            f"{name:>12} ({shown}): {rms_db(wet):6.1f} dBFS RMS, "
            f"spectral distance to dry {spectral_distance(dry, wet):.3f} -> {path}"
        )


if __name__ == "__main__":
    sys.exit(main())
