"""``fxr build --deliver-16bit``: wet clips as a 16-bit file holds them, after the effect.

A reference track reaches fxr as a file, most often of 16-bit samples
(pedalboard's and soundfile's default for wav). Delivery rounds the wet as
such a file does and leaves everything else of the build as it was: the dry
clips, the settings, and the labels, which say what the effect did.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.io import as_delivered, read_audio, write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import describe, read_header

from .conftest import file_contents

TINY = {"source": "synth:3", "clip_seconds": 0.25, "max_clips": 3, "keep_audio": True}


def tiny(effect: str, **options) -> BuildConfig:
    return BuildConfig(effect=effect, **{**TINY, **options})


@pytest.mark.parametrize("shape", [(3000,), (2, 3000)], ids=["mono", "stereo"])
def test_delivery_is_what_a_16_bit_file_reads_back(tmp_path, shape):
    audio = (0.4 * np.random.default_rng(0).standard_normal(shape)).clip(-1, 1)
    audio = audio.astype(np.float32)
    written = write_audio(tmp_path / "d.wav", audio, 44100, bit_depth=16)
    read, _ = read_audio(written, sample_rate=None, mono=False)
    delivered = as_delivered(audio, 44100)
    assert delivered.shape == audio.shape
    np.testing.assert_array_equal(delivered, read.reshape(shape))
    assert not np.array_equal(delivered, audio)


@pytest.mark.parametrize("name", registry.effect_names())
def test_delivery_rounds_every_wet_clip_and_changes_nothing_else(tmp_path, name):
    build(tiny(name), tmp_path / "float.h5", workers=1)
    build(tiny(name, deliver_16bit=1.0), tmp_path / "16bit.h5", workers=1)
    plain, delivered = file_contents(tmp_path / "float.h5"), file_contents(tmp_path / "16bit.h5")
    assert plain.keys() == delivered.keys()
    for wet, expected in zip(delivered["examples/audio"], plain["examples/audio"], strict=True):
        np.testing.assert_array_equal(wet, as_delivered(expected, 44100))
    moved = {"examples/audio", "examples/wet_mel", "examples/residual_mel"}
    for key in plain.keys() - moved:
        np.testing.assert_array_equal(plain[key], delivered[key], err_msg=key)


def test_a_share_delivers_some_clips_the_same_ones_for_a_seed(tmp_path):
    config = tiny("delay,limiter", deliver_16bit=0.5, seed=3)
    build(tiny("delay,limiter", seed=3), tmp_path / "float.h5", workers=1)
    build(config, tmp_path / "one.h5", workers=1)
    build(config, tmp_path / "two.h5", workers=2)
    plain, one, two = (file_contents(tmp_path / f"{n}.h5") for n in ("float", "one", "two"))
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    pairs = zip(one["examples/audio"], plain["examples/audio"], strict=True)
    same = [np.array_equal(a, b) for a, b in pairs]
    assert 0 < sum(same) < len(same)
    # The untouched copies too: a file rounds whatever it holds.
    untouched = plain["examples/effect"] == -1
    assert not all(np.array(same)[untouched])
    np.testing.assert_array_equal(one["examples/changed"], plain["examples/changed"])


def test_the_share_is_recorded_and_shown(tmp_path):
    path = tmp_path / "d.h5"
    build(tiny("delay", deliver_16bit=0.25), path, workers=1)
    assert read_header(path).deliver_16bit == 0.25
    assert describe(path)["deliver_16bit"] == 0.25
    build(tiny("delay"), tmp_path / "float.h5", workers=1)
    assert read_header(tmp_path / "float.h5").deliver_16bit is None  # not written
    assert describe(tmp_path / "float.h5")["deliver_16bit"] == 0.0
    shown = CliRunner().invoke(cli, ["inspect", str(path)]).output
    assert "25 % of wet clips as 16-bit samples" in shown


@pytest.mark.parametrize("share", ["1.5", "-0.1", "nan"])
def test_a_share_outside_0_to_1_is_one_line_and_exit_2(tmp_path, share):
    out = tmp_path / "x.h5"
    result = CliRunner().invoke(
        cli, ["build", "--effect", "delay", "--deliver-16bit", share, "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "--deliver-16bit" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
