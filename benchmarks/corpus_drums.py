"""Drum grooves assembled from the recorded samples of Hydrogen's drum kits.

A kit's drumkit.xml lists instruments and their sample files (one, or
velocity layers); instruments are sorted into roles by name (kick, snare,
hats, ...), and a kit without a kick, a snare and a hat or ride is skipped.
Grooves are 16th-note patterns with ghost notes, fills and crashes, played
with velocity layers and timing jitter as a drummer would.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fxregistry import SAMPLE_RATE, read_audio

# Checked in this order: "Hi Hat Closed" is a hat before anything else.
ROLES = (
    ("hat_open", r"(open|ohh|op\b)"),
    ("hat", r"(hat|hh|hi-hat)"),
    ("kick", r"(kick|bass ?drum|\bbd)"),
    ("snare", r"snare(?!.*roll)"),
    ("tom", r"\btom"),
    ("ride", r"ride"),
    ("crash", r"(crash|china|cymbal)"),
)
PATTERNS: dict[str, dict[str, str]] = {  # 16 steps of one bar: x hit, g ghost
    "rock": {"kick": "x.......x.x.....", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "four": {"kick": "x...x...x...x...", "snare": "....x.......x...", "hat": "..x...x...x...x."},
    "half": {"kick": "x.........x.....", "snare": "........x.......", "hat": "x.x.x.x.x.x.x.x."},
    "funk": {"kick": "x..x..x...x..x..", "snare": "....x..g.g..x..g", "hat": "xxxxxxxxxxxxxxxx"},
    "ride": {"kick": "x.......x.......", "snare": "....x.......x...", "ride": "x..xx..xx..xx..x"},
}


@dataclass(frozen=True)
class Instrument:
    name: str
    role: str
    volume: float
    layers: tuple[tuple[float, float, Path], ...]  # min velocity, max velocity, sample file

    def sample_for(self, velocity: float) -> Path:
        for low, high, path in self.layers:
            if low <= velocity <= high:
                return path
        return self.layers[-1][2]


@dataclass(frozen=True)
class Kit:
    name: str
    instruments: dict[str, tuple[Instrument, ...]]  # role -> instruments


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # newer kits put every tag in a namespace


def _child(element: ET.Element, tag: str) -> ET.Element | None:
    return next((c for c in element if _local(c) == tag), None)


def _text(element: ET.Element, tag: str, default: str = "") -> str:
    child = _child(element, tag)
    return (child.text or default).strip() if child is not None else default


def read_kit(xml: Path) -> Kit:
    """The kit's instruments by role (instruments of no known role are left out)."""
    root = ET.parse(xml).getroot()
    roles: dict[str, list[Instrument]] = {}
    for element in root.iter():
        if _local(element) != "instrument":
            continue
        name = _text(element, "name")
        role = next((r for r, pattern in ROLES if re.search(pattern, name, re.I)), None)
        layers = [
            (
                float(_text(layer, "min", "0")),
                float(_text(layer, "max", "1")),
                _text(layer, "filename"),
            )
            for layer in element.iter()
            if _local(layer) == "layer"
        ]
        if not layers and _text(element, "filename"):
            layers = [(0.0, 1.0, _text(element, "filename"))]
        files = tuple(
            (lo, hi, xml.parent / f) for lo, hi, f in layers if (xml.parent / f).is_file()
        )
        if role and files and _text(element, "isMuted") != "true":
            volume = float(_text(element, "volume", "1"))
            roles.setdefault(role, []).append(Instrument(name, role, volume, files))
    return Kit(_text(root, "name") or xml.parent.name, {r: tuple(i) for r, i in roles.items()})


def usable_kits(folder: Path) -> list[Kit]:
    """Kits that can play a groove, in a stable order."""
    kits = [read_kit(xml) for xml in sorted(folder.glob("*/drumkit.xml"))]
    return [k for k in kits if {"kick", "snare"} <= k.instruments.keys() and _has_time(k)]


def _has_time(kit: Kit) -> bool:
    return "hat" in kit.instruments or "ride" in kit.instruments


@functools.lru_cache(maxsize=512)
def _sample(path: Path) -> np.ndarray:
    return read_audio(path)[0]


def groove(kit: Kit, tempo: float, bars: int, seconds: float, rng: np.random.Generator):
    """Mono float32 drums of ``seconds`` at ``tempo``, and the pattern's name."""
    name = str(
        rng.choice([p for p in PATTERNS if "ride" not in PATTERNS[p] or "ride" in kit.instruments])
    )
    pattern = dict(PATTERNS[name])
    if "hat" in pattern and "hat" not in kit.instruments:
        pattern["ride"] = pattern.pop("hat")
    # One instrument per role for the whole take, as a drummer keeps one snare.
    chosen = {r: i[rng.integers(len(i))] for r, i in kit.instruments.items()}
    step_s = 60.0 / tempo / 4
    out = np.zeros(int((seconds + 3) * SAMPLE_RATE), dtype=np.float32)

    def hit(role: str, step: int, velocity: float) -> None:
        instrument = chosen[role]
        start = step * step_s + rng.normal(0, 0.004)
        sample = _sample(instrument.sample_for(velocity))
        at = max(0, int(start * SAMPLE_RATE))
        end = min(len(out), at + len(sample))
        out[at:end] += sample[: end - at] * velocity * instrument.volume

    for bar in range(bars):
        fill = bar % 4 == 3 and "tom" in chosen and rng.random() < 0.6
        for role, steps in pattern.items():
            for i, mark in enumerate(steps):
                if fill and i >= 12:
                    continue
                if mark == "x":
                    accent = 0.9 if i % 4 == 0 else 0.7
                    hit(role, bar * 16 + i, float(np.clip(accent + rng.normal(0, 0.08), 0.1, 1)))
                elif mark == "g":
                    hit(role, bar * 16 + i, float(rng.uniform(0.2, 0.35)))
        if fill:
            for i in range(12, 16):
                hit("tom" if rng.random() < 0.7 else "snare", bar * 16 + i, rng.uniform(0.6, 0.95))
        if bar % 4 == 0 and "crash" in chosen and (bar or rng.random() < 0.5):
            hit("crash", bar * 16, float(rng.uniform(0.7, 1.0)))
        if "hat_open" in chosen and rng.random() < 0.3:
            hit("hat_open", bar * 16 + 14, float(rng.uniform(0.5, 0.8)))
    return out[: int(seconds * SAMPLE_RATE)], name
