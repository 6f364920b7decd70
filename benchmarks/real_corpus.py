"""Render a real-audio validation corpus from sources other than fxr's synthesizer.

    .venv/bin/python benchmarks/real_corpus.py [--out FOLDER] [--files 40] [--seed 0]
                                               [--soundfont freepats|fluid|timgm]

MIDI phrases written here (guitar in four playing styles, bass, keys,
strings, leads) are played by timidity with Debian's freepats samples (or,
with `--soundfont fluid`, FluidR3 GM: a second corpus to hold out; with
`--soundfont timgm`, TimGM6mb: a third, added later, that nothing was
measured on while fxr was tuned); drums
are grooves assembled from the recorded samples of Hydrogen's kits. Files
are solo takes or band mixes of 2-4 of drums, bass, keys and guitar, 10-30 s
long, each with its peak drawn uniformly in -20 ... -1 dBFS, written as
44.1 kHz wav into one subfolder per kind (guitar-solo, band-mix, ...), so
`fxr build --source folder:FOLDER/guitar-solo` reads one kind. manifest.json
lists every file's instruments, programs or kit, tempo, seed and peak.
Needs `apt-get install timidity freepats hydrogen-drumkits` (and
fluid-soundfont-gm or timgm6mb-soundfont for the other two) and `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from corpus_drums import Kit, groove, usable_kits
from corpus_midi import random_part, random_song, write_midi
from corpus_timidity import MissingTool, Soundfont, drumkits_folder, render_midi, soundfont

from fxregistry import SAMPLE_RATE

# Kinds in the order files are given them, repeating: any --files >= 10 holds
# every kind, and guitar solos and band mixes, what benchmarks report, lead.
SCHEDULE = (
    "guitar-solo", "band-mix", "bass-solo", "keys-solo", "guitar-solo",
    "drums-solo", "band-mix", "strings-solo", "guitar-solo", "lead-solo",
    "band-mix", "guitar-solo", "bass-solo", "band-mix", "guitar-solo",
    "keys-solo", "band-mix", "guitar-solo", "band-mix", "guitar-solo",
)  # fmt: skip
BAND = ("drums", "bass", "keys", "guitar")
# Part of every file's seed, so the fluid corpus is other music, not the same notes re-voiced.
SOUNDFONT_SEEDS = {"freepats": 1, "fluid": 2, "timgm": 3}
PEAK_DBFS = (-20.0, -1.0)
SECONDS = (10.0, 30.0)
# Integer PCM as recordings are delivered: its quantization floor is part of real audio.
BIT_DEPTHS = (16, 24)


def roles_of(kind: str, rng: np.random.Generator) -> list[str]:
    if kind != "band-mix":
        return [kind.removesuffix("-solo")]
    count = int(rng.integers(2, len(BAND) + 1))
    return sorted(rng.choice(BAND, size=count, replace=False).tolist(), key=BAND.index)


def make_file(
    index: int, seed: int, font: Soundfont, kits: list[Kit], scratch: Path
) -> tuple[np.ndarray, dict]:
    """One file's audio and its manifest entry."""
    kind = SCHEDULE[index % len(SCHEDULE)]
    rng = np.random.default_rng([seed, SOUNDFONT_SEEDS[font.name], index])
    seconds = float(rng.uniform(*SECONDS))
    samples = int(seconds * SAMPLE_RATE)
    song = random_song(rng, seconds)
    roles = roles_of(kind, rng)
    parts = [random_part(rng, role, font.programs) for role in roles if role != "drums"]
    instruments = [{"role": p.role, "program": p.program, "style": p.style} for p in parts]
    layers = []
    if parts:
        midi = scratch / f"{index}.mid"
        write_midi(midi, song, parts, rng)
        layers.append(_fit(render_midi(midi, font), samples))
    if "drums" in roles:
        kit = kits[rng.integers(len(kits))]
        drums, pattern = groove(kit, song.tempo, song.bars, seconds, rng)
        instruments.insert(0, {"role": "drums", "kit": kit.name, "pattern": pattern})
        if layers:  # the drums sit -6 ... +3 dB around the rest of the band, by RMS
            drums *= _rms(layers[0]) / max(_rms(drums), 1e-9) * 10 ** (rng.uniform(-6, 3) / 20)
        layers.append(_fit(drums, samples))
    audio = np.sum(layers, axis=0)
    fade = int(0.02 * SAMPLE_RATE)  # the excerpt's cut, without a click
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.max(np.abs(audio)))
    if peak == 0:
        raise RuntimeError(f"file {index} ({kind}, {instruments}) rendered silence")
    peak_dbfs = float(rng.uniform(*PEAK_DBFS))
    audio = (audio * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)
    name = f"{kind}/{index:04d}-{'+'.join(roles)}.wav"
    entry = {
        "file": name,
        "kind": kind,
        "solo": kind != "band-mix",
        "instruments": instruments,
        "tempo_bpm": song.tempo,
        "key": song.key,
        "minor": song.minor,
        "seconds": round(samples / SAMPLE_RATE, 3),
        "seed": [seed, SOUNDFONT_SEEDS[font.name], index],
        "peak_dbfs": round(peak_dbfs, 2),
        "bit_depth": int(rng.choice(BIT_DEPTHS)),
    }
    return audio, entry


def _fit(audio: np.ndarray, samples: int) -> np.ndarray:
    out = np.zeros(samples, dtype=np.float32)
    out[: min(samples, len(audio))] = audio[:samples]
    return out


def write_wav(path: Path, audio: np.ndarray, bit_depth: int) -> None:
    """Integer PCM wav (fxr's write_audio writes float, which no recorder delivers)."""
    from pedalboard.io import AudioFile

    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", SAMPLE_RATE, 1, bit_depth=bit_depth) as f:
        f.write(audio[np.newaxis])


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def check_tools(font_name: str, workdir: Path) -> tuple[Soundfont, list[Kit]]:
    """Everything outside Python the corpus needs; raises MissingTool naming the package."""
    try:
        import mido  # noqa: F401
    except ImportError:
        raise MissingTool("mido is missing: .venv/bin/pip install -e '.[bench]'") from None
    font = soundfont(font_name, workdir)
    kits = usable_kits(drumkits_folder())
    if not kits:
        raise MissingTool("no usable drum kit found: apt-get install hydrogen-drumkits")
    return font, kits


def make_corpus(out: Path, files: int, seed: int, font_name: str) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        font, kits = check_tools(font_name, Path(tmp))
        entries = []
        for index in range(files):
            audio, entry = make_file(index, seed, font, kits, Path(tmp))
            write_wav(out / entry["file"], audio, entry["bit_depth"])
            entry["bytes"] = (out / entry["file"]).stat().st_size
            entries.append(entry)
            print(f"{index + 1}/{files} {entry['file']} {entry['seconds']:.1f} s", flush=True)
    kinds: dict[str, dict] = {}
    for entry in entries:
        kind = kinds.setdefault(entry["kind"], {"files": [], "seconds": 0.0})
        kind["files"].append(entry["file"])
        kind["seconds"] = round(kind["seconds"] + entry["seconds"], 3)
    manifest = {
        "soundfont": font.name,
        "seed": seed,
        "sample_rate": SAMPLE_RATE,
        "files": len(entries),
        "seconds": round(sum(e["seconds"] for e in entries), 3),
        "bytes": sum(e["bytes"] for e in entries),
        "make_s": round(time.perf_counter() - started, 1),
        "kinds": kinds,
        "entries": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def clear(out: Path) -> None:
    """Remove an earlier corpus's files, so a smaller rerun leaves none behind; refuse others."""
    manifest = out / "manifest.json"
    if manifest.is_file():
        for entry in json.loads(manifest.read_text())["entries"]:
            (out / entry["file"]).unlink(missing_ok=True)
        manifest.unlink()
    elif out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} holds other files; give an empty or new --out folder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="default: datasets/real-SOUNDFONT")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--soundfont", choices=sorted(SOUNDFONT_SEEDS), default="freepats")
    args = parser.parse_args()
    out = args.out or Path(__file__).resolve().parents[1] / "datasets" / f"real-{args.soundfont}"
    try:
        clear(out)
        manifest = make_corpus(out, args.files, args.seed, args.soundfont)
    except (MissingTool, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    minutes = manifest["seconds"] / 60
    mb = manifest["bytes"] / 1e6
    print(f"{out}: {manifest['files']} files, {minutes:.1f} min of audio, {mb:.0f} MB,")
    print(f"made in {manifest['make_s']:.0f} s; kinds: " + ", ".join(
        f"{k} {len(v['files'])}" for k, v in sorted(manifest["kinds"].items())))  # fmt: skip


if __name__ == "__main__":
    main()
