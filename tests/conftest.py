"""Shared fixtures.

Each test starts from a freshly loaded plugin manager, so a plugin that one
test registers or fakes never leaks into the next.  Only fxr's own plugins
load under test: a plugin installed beside fxr (plugins/fxr-distortion, say)
must not change what the tests see.  A test that needs a third-party plugin
fakes one with ``fake_distribution``, which adds it to the allow-list.
``FXR_TEST_PLUGINS=NAME,...`` adds installed entry points too, to run the
registry-driven tests (tests/test_effects.py) on a plugin of one's own.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fxregistry import registry

SAMPLE_RATE = 44100

# fxr's own entry points, as its distribution metadata lists them.
BUILTIN_PLUGINS = sorted(
    ep.name
    for ep in importlib.metadata.distribution("fxregistry").entry_points
    if ep.group == registry.ENTRY_POINT_GROUP
)
TEST_PLUGINS = ",".join(BUILTIN_PLUGINS + [os.environ.get("FXR_TEST_PLUGINS", "")]).strip(",")


def pytest_configure(config):
    # Before collection: test modules parametrize over the registries at import.
    os.environ["FXR_PLUGINS"] = TEST_PLUGINS


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    monkeypatch.setenv("FXR_PLUGINS", TEST_PLUGINS)
    registry.reset()
    yield
    registry.reset()


@pytest.fixture(scope="session")
def guitar() -> np.ndarray:
    """Two seconds of the built-in synthesizer's acoustic guitar alone, mono float32 at 44.1 kHz.

    Many takes of the synth are bands now; the tests that reason about a
    plucked string's attack and decaying tail want the guitar by itself.
    """
    from fxr_plugins.synth import synthesize_take

    audio = synthesize_take(7, 0, families=("acoustic-guitar",))
    # Skip the first half second: takes may start with a rest.
    return np.ascontiguousarray(audio[SAMPLE_RATE // 2 : SAMPLE_RATE // 2 + 2 * SAMPLE_RATE])


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Make an installed distribution without pip: a module plus a *.dist-info folder.

    ``fake_distribution("fxr-x", {"x": "fxr_x"}, {"fxr_x.py": "..."})`` puts
    both on sys.path, as `pip install` would, adds its entry points to
    ``FXR_PLUGINS`` (for this process and the ones it starts), and returns the folder.
    """

    def make(name: str, entry_points: dict[str, str], files: dict[str, str]) -> Path:
        root = tmp_path / "site"
        dist_info = root / f"{name.replace('-', '_')}-1.0.dist-info"
        dist_info.mkdir(parents=True)
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
        (dist_info / "entry_points.txt").write_text(f"[fxregistry]\n{lines}\n")
        for filename, text in files.items():
            (root / filename).write_text(textwrap.dedent(text))
        monkeypatch.syspath_prepend(str(root))
        importlib.invalidate_caches()
        allowed = [os.environ.get("FXR_PLUGINS", ""), *entry_points]
        monkeypatch.setenv("FXR_PLUGINS", ",".join(allowed).strip(","))
        registry.reset()
        return root

    yield make
    for module in [m for m in sys.modules if m.startswith("fxr_test_")]:
        del sys.modules[module]


def tone_take(seconds: float, sample_rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """A plucked-like test take: decaying partials restarted every half second."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    envelope = np.exp(-(t % 0.5) * 6)
    audio = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(80, 1200, 5)) * envelope * 0.1
    audio = audio.astype(np.float32)
    return audio if channels == 1 else np.stack([audio * (1 - 0.3 * c) for c in range(channels)])


@pytest.fixture(scope="session")
def audio_folder(tmp_path_factory) -> Path:
    """Five takes at several rates and channel counts, a corrupt .wav and a text file."""
    from fxregistry.audio.io import write_audio

    root = tmp_path_factory.mktemp("takes")
    layout = [
        ("a/one.wav", 44100, 1),
        ("a/two.flac", 48000, 2),
        ("b/three.wav", 22050, 1),
        ("b/four.wav", 44100, 2),
        ("five.wav", 32000, 1),
    ]
    for i, (name, rate, channels) in enumerate(layout):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_audio(root / name, tone_take(4.5 + i, rate, seed=i, channels=channels), rate)
    (root / "b" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "notes.txt").write_text("not audio")
    return root


# Spectrograms are stored as float16 dB: steps of at most 1/32 dB where they live.
FLOAT16_DB = 1 / 16


def assert_example_is_its_dry_rendered(f, example: int, effect, setting: dict) -> None:
    """Row ``example`` of the open dataset ``f`` (built with ``--keep-audio``) is exact:
    the stored dry clip rendered at ``setting`` is the stored wet, audio and spectrogram,
    rendered by the effect or by the one of its variants that the build drew
    (``--variants``, on by default: the closest render is the one to hold exactly)."""
    from threadpoolctl import threadpool_limits

    from fxregistry.audio.features import spectrogram

    clip = int(f["examples/clip"][example])
    dry = f["clips/audio"][clip]
    stored = f["examples/audio"][example]
    # On one BLAS thread, as every build computes (fxregistry.dataset.pool): a threaded
    # product sums in another order, and bands near -90 dB then move by 0.1 dB.
    with threadpool_limits(1):
        renders = [way(dry, SAMPLE_RATE, **setting) for way in effect.implementations()]
        wet = min(renders, key=lambda r: float(np.abs(r - stored).max()))
        wet_mel, dry_mel = spectrogram(wet), spectrogram(dry)
    np.testing.assert_allclose(stored, wet, atol=1e-6)
    np.testing.assert_allclose(f["examples/wet_mel"][example], wet_mel, atol=FLOAT16_DB)
    np.testing.assert_allclose(f["clips/dry_mel"][clip], dry_mel, atol=FLOAT16_DB)


def file_contents(path) -> dict[str, np.ndarray]:
    """Every dataset of the HDF5 file at ``path``, by name."""
    import h5py

    out = {}
    with h5py.File(path) as f:
        f.visit(lambda n: out.update({n: f[n][:]}) if isinstance(f[n], h5py.Dataset) else None)
    return out
