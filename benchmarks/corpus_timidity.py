"""The outside tools the real-audio corpus needs, and MIDI rendered by timidity.

Every missing piece is reported as one line naming the Debian package that
provides it, so `real_corpus.py` can stop with exit status 2 before it has
rendered anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fxregistry import SAMPLE_RATE, read_audio

FREEPATS_CFG = Path("/etc/timidity/freepats.cfg")
# General MIDI soundfonts (SF2: timidity cannot read SF3) and the package that installs each.
SF2 = {
    "fluid": (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), "fluid-soundfont-gm"),
    "timgm": (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "timgm6mb-soundfont"),
}
DRUMKITS = Path("/usr/share/hydrogen/data/drumkits")


class MissingTool(Exception):
    """A program, soundfont or sample package the corpus needs is not installed."""


@dataclass(frozen=True)
class Soundfont:
    """A timidity configuration and the General MIDI programs it really has."""

    name: str
    config: Path
    programs: frozenset[int]


def freepats() -> Soundfont:
    if not FREEPATS_CFG.is_file():
        raise MissingTool(f"{FREEPATS_CFG} is missing: apt-get install freepats")
    return Soundfont("freepats", FREEPATS_CFG, _freepats_programs(FREEPATS_CFG.read_text()))


def _freepats_programs(cfg: str) -> frozenset[int]:
    """Programs listed under `bank 0`: freepats lacks many GM programs, and timidity
    plays a missing one as silence, so phrases only ever pick listed ones."""
    programs: set[int] = set()
    in_bank0 = False
    for line in cfg.splitlines():
        words = line.split()
        if words[:1] in (["bank"], ["drumset"]):
            in_bank0 = words == ["bank", "0"]
        elif in_bank0 and words and re.fullmatch(r"\d+", words[0]):
            programs.add(int(words[0]))
    return frozenset(programs)


def sf2(name: str, workdir: Path) -> Soundfont:
    """A soundfont of :data:`SF2` through a generated config: Debian's timidity.cfg may
    point elsewhere."""
    path, package = SF2[name]
    if not path.is_file():
        raise MissingTool(f"{path} is missing: apt-get install {package}")
    config = workdir / f"{name}.cfg"
    config.write_text(f"soundfont {path}\n")
    return Soundfont(name, config, frozenset(range(128)))


def soundfont(name: str, workdir: Path) -> Soundfont:
    """The named soundfont, after checking timidity itself is installed."""
    if shutil.which("timidity") is None:
        raise MissingTool("timidity is missing: apt-get install timidity")
    return freepats() if name == "freepats" else sf2(name, workdir)


def drumkits_folder() -> Path:
    if not any(DRUMKITS.glob("*/drumkit.xml")):
        raise MissingTool(f"no drum kits under {DRUMKITS}: apt-get install hydrogen-drumkits")
    return DRUMKITS


def render_midi(midi_path: Path, font: Soundfont) -> np.ndarray:
    """Play a MIDI file through timidity and return mono float32 audio at 44.1 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        # -OwM: mono wav; -A: a fixed amplification so levels do not depend on
        # timidity's automatic gain, the corpus sets every file's peak itself.
        command = ["timidity", "-c", str(font.config), "-OwM", "-s", str(SAMPLE_RATE)]
        command += ["-A", "80", "-o", str(wav), str(midi_path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"timidity failed on {midi_path}: {done.stderr.strip()[-300:]}")
        return read_audio(wav)[0]
