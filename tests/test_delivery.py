"""``fxr build --deliver``: wet clips as a file holds them, after the effect.

A reference track reaches fxr as a file: most often of 16-bit samples
(pedalboard's and soundfile's default for wav), often an mp3. Delivery
makes a share of the wet clips so, and leaves everything else of the build
as it was: the dry clips, the settings, and the labels, which say what the
effect did.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.io import DELIVERIES, as_delivered, read_audio, write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import read_header
from fxregistry.dataset.render import shown_by_file
from fxregistry.dataset.summary import describe

from .conftest import file_contents

TINY = {"source": "synth:3", "clip_seconds": 0.25, "max_clips": 3, "keep_audio": True}
# What delivery moves: the wet clips, their features and residuals, whatever the kinds.
MOVED = ("examples/audio", "examples/wet_", "examples/residual_")


def kept(keys) -> list[str]:
    return [k for k in keys if not k.startswith(MOVED)]


def tiny(effect: str, **options) -> BuildConfig:
    return BuildConfig(effect=effect, **{**TINY, **options})


def noise(shape) -> np.ndarray:
    return (0.4 * np.random.default_rng(0).standard_normal(shape)).clip(-1, 1).astype(np.float32)


@pytest.mark.parametrize("shape", [(3000,), (2, 3000)], ids=["mono", "stereo"])
@pytest.mark.parametrize("delivery", ["16bit", "mp3:128", "mp3:320"])
def test_delivery_is_what_such_a_file_reads_back(tmp_path, shape, delivery):
    audio = noise(shape)
    path = tmp_path / ("d.wav" if delivery == "16bit" else "d.mp3")
    kbps = DELIVERIES[delivery]
    # An mp3 without kbps is pedalboard's default, 320 kbps.
    written = write_audio(path, audio, 44100, bit_depth=16, kbps=None if kbps == 320 else kbps)
    read, _ = read_audio(written, sample_rate=None, mono=False)
    delivered = as_delivered(audio, 44100, delivery)
    assert delivered.shape == audio.shape
    np.testing.assert_array_equal(delivered, read.reshape(*shape[:-1], -1)[..., : shape[-1]])
    assert not np.array_equal(delivered, audio)


def test_every_delivery_keeps_the_length_and_each_bitrate_is_its_own():
    audio = noise(20000)
    delivered = {d: as_delivered(audio, 44100, d) for d in DELIVERIES}
    assert all(d.shape == audio.shape for d in delivered.values())
    assert np.abs(delivered["16bit"] - audio).max() <= 2 / 32767  # rounding, no more
    mp3s = [d for name, d in delivered.items() if name.startswith("mp3")]
    assert all(not np.array_equal(a, b) for i, a in enumerate(mp3s) for b in mp3s[i + 1 :])


@pytest.mark.parametrize("name", registry.effect_names())
def test_16_bit_delivery_rounds_every_wet_clip_and_changes_nothing_else(tmp_path, name):
    build(tiny(name), tmp_path / "float.h5", workers=1)
    build(tiny(name, deliver="16bit:1"), tmp_path / "16bit.h5", workers=1)
    plain, delivered = file_contents(tmp_path / "float.h5"), file_contents(tmp_path / "16bit.h5")
    assert plain.keys() == delivered.keys()
    for wet, expected in zip(delivered["examples/audio"], plain["examples/audio"], strict=True):
        np.testing.assert_array_equal(wet, as_delivered(expected, 44100, "16bit"))
    for key in kept(plain):
        np.testing.assert_array_equal(plain[key], delivered[key], err_msg=key)


def test_shares_deliver_some_clips_each_way_the_same_ones_for_a_seed(tmp_path):
    config = tiny("delay,limiter", deliver="16bit:0.3,mp3:0.4", seed=3)
    build(tiny("delay,limiter", seed=3), tmp_path / "float.h5", workers=1)
    build(config, tmp_path / "one.h5", workers=1)
    build(config, tmp_path / "two.h5", workers=2)
    plain, one, two = (file_contents(tmp_path / f"{n}.h5") for n in ("float", "one", "two"))
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    for key in kept(plain):
        if key != "examples/changed":
            np.testing.assert_array_equal(one[key], plain[key], err_msg=key)
    ways = []
    for wet, expected in zip(one["examples/audio"], plain["examples/audio"], strict=True):
        ways.append(
            next(d for d in [None, *DELIVERIES] if np.array_equal(wet, deliver(expected, d)))
        )
    assert {None, "16bit"} <= set(ways) and any(w and w.startswith("mp3") for w in ways)
    # A label moves only where a delivery buried the change (shown_by_file), to none.
    moved = one["examples/changed"] != plain["examples/changed"]
    assert not one["examples/changed"][moved].any()
    assert all(ways[i] is not None for i in np.flatnonzero(moved))
    untouched = plain["examples/effect"] == -1  # a file holds untouched audio as any other
    assert any(w is not None for w, u in zip(ways, untouched, strict=True) if u)


def test_a_change_the_codec_buries_is_labelled_none():
    # An mp3 re-encodes a bitcrusher's 15 bits into a file no more moved than the dry's own
    # mp3; 4 bits, 8 kHz or a 9 dB limiter stay audible through it.
    from fxr_plugins.synth import synthesize_take

    dry = synthesize_take(5, 0)[22050 : 22050 + 88200].astype(np.float32)
    dry = dry / np.abs(dry).max() * 0.5
    wets = [
        registry.get_effect(name)(dry, 44100, **setting)
        for name, setting in [
            ("bitcrusher", {"bit_depth": 15.0}),
            ("bitcrusher", {"bit_depth": 4.0}),
            ("sample-rate", {"target_khz": 8.0}),
            ("limiter", {"threshold_db": -9.0, "release_ms": 0.0}),
        ]
    ]
    files = np.stack([as_delivered(w, 44100, "mp3:128") for w in wets])
    shown = shown_by_file(files, dry[None], np.zeros(4, int), ["mp3:128"] * 4, np.arange(4))
    assert shown.tolist() == [False, True, True, True]


def deliver(audio: np.ndarray, how: str | None) -> np.ndarray:
    return audio if how is None else as_delivered(audio, 44100, how)


def test_the_delivery_is_recorded_and_shown(tmp_path):
    path = tmp_path / "d.h5"
    build(tiny("delay", deliver="16bit:0.25,mp3:0.5"), path, workers=1)
    assert read_header(path).deliver == "16bit:0.25,mp3:0.5"
    assert describe(path)["deliver"] == "16bit:0.25,mp3:0.5"
    shown = CliRunner().invoke(cli, ["inspect", str(path)]).output
    assert "delivered  16bit:0.25,mp3:0.5" in shown
    build(tiny("delay"), tmp_path / "float.h5", workers=1)
    assert read_header(tmp_path / "float.h5").deliver is None  # not written
    assert describe(tmp_path / "float.h5")["deliver"] == "none"


@pytest.mark.parametrize(
    "text, message",
    [
        ("16bit:1.5", "--deliver 16bit"),
        ("16bit:0.7,mp3:0.7", "add up to more than 1"),
        ("flac:0.5", "--deliver takes 16bit, mp3"),
        ("16bit", "is not KIND:SHARE"),
        ("mp3:nan", "--deliver mp3"),
    ],
)
def test_a_bad_delivery_is_one_line_and_exit_2(tmp_path, text, message):
    out = tmp_path / "x.h5"
    result = CliRunner().invoke(
        cli, ["build", "--effect", "delay", "--deliver", text, "--out", str(out)]
    )
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
