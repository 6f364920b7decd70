"""Audio is validated where it is read and written: bad files end in one line, exit 2, no file.

Every bad file here is a real file the tests write byte by byte (``write_audio``
refuses NaN, on purpose), fed to each command that reads audio: ``fxr render``,
``fxr build --source FOLDER`` and ``fxr estimate``. Each case checks the exit
status, a single ``fxr: error:`` line naming the file, no traceback, and that no
output (nor its ``.partial``) was left behind.
"""

from __future__ import annotations

import errno
import functools
import pathlib
import struct
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

import fxregistry
from fxregistry import Effect, FxrError, Parameter, Recording, Source, registry
from fxregistry.audio.io import SAMPLE_RATE, read_audio, write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit

TINY_MODEL = {"channels": [4, 8], "hidden": 8}


def fxr(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_error_line(result, *fragments, status=2):
    """Exit ``status``, exactly one ``fxr: error:`` line holding every fragment, no traceback."""
    assert result.exit_code == status, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fxr: error:" if status == 2 else "fxr: internal error:"), lines
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output


def assert_nothing_written(folder: pathlib.Path, *kept: str) -> None:
    """Only the files the test put in ``folder`` are there: no output, no ``.partial``."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(kept)


def tone(seconds: float = 1.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-(t % 0.25) * 8)).astype(np.float32)


def wav_bytes(data: bytes, tag: int, channels: int, rate: int, bits: int) -> bytes:
    """A WAV file around ``data``: format ``tag`` 3 is float, 7 mu-law."""
    frame = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * frame, frame, bits)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    return header + data


def float_wav(path: pathlib.Path, audio: np.ndarray, rate: int = SAMPLE_RATE) -> pathlib.Path:
    """A 32-bit float WAV of ``(samples,)`` or ``(channels, samples)``, whatever the values."""
    audio = np.atleast_2d(np.asarray(audio, "<f4"))
    path.write_bytes(wav_bytes(audio.T.tobytes(), 3, audio.shape[0], rate, 32))  # interleaved
    return path


def with_value(value: float) -> np.ndarray:
    audio = tone()
    audio[1000:1010] = value
    return audio


# name -> (how to write it into a folder, the message fragment)
BAD_AUDIO = {
    "nan": (lambda p: float_wav(p, with_value(np.nan)), "NaN or Inf samples"),
    "inf": (lambda p: float_wav(p, with_value(np.inf)), "NaN or Inf samples"),
    "empty": (lambda p: float_wav(p, np.zeros(0)), "holds no audio"),
    "truncated": (
        lambda p: p.write_bytes(float_wav(p, tone()).read_bytes()[:20000]),
        "truncated",
    ),
    "header-only": (lambda p: p.write_bytes(float_wav(p, tone()).read_bytes()[:30]), "decode"),
    "foreign": (lambda p: p.write_text("a text file with a .wav name\n" * 50), "decode"),
    "slow-rate": (lambda p: float_wav(p, tone(), rate=100), "sample rate 100 Hz"),
}


def bad_file(folder: pathlib.Path, name: str) -> tuple[pathlib.Path, str]:
    write, fragment = BAD_AUDIO[name]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.wav"
    write(path)
    return path, fragment


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    """A one-epoch, tiny-model run on 0.25 s clips (pair input: estimate reads --dry)."""
    folder = tmp_path_factory.mktemp("run")
    data = folder / "delay.h5"
    config = BuildConfig(effect="delay", source="synth:3", clip_seconds=0.25, max_clips=3)
    build(config, data, workers=1)
    fit(
        FitConfig(
            model="cnn",
            data=str(data),
            epochs=1,
            batch_size=8,
            device="cpu",
            hyperparameters=TINY_MODEL,
        ),
        folder / "run",
    )
    registry.reset()
    return folder / "run"


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("name", BAD_AUDIO)
def test_read_audio_refuses_a_bad_file_naming_it(tmp_path, name):
    path, fragment = bad_file(tmp_path, name)
    with pytest.raises(FxrError, match=fragment) as caught:
        read_audio(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_truncated_file_is_refused_not_padded_with_silence(tmp_path):
    whole = float_wav(tmp_path / "whole.wav", tone())
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size - 4])  # one frame short
    assert read_audio(whole)[0].size == SAMPLE_RATE
    with pytest.raises(FxrError, match="promises 44100 frames"):
        read_audio(cut)


def test_an_8_bit_mu_law_wav_is_read_not_called_truncated(tmp_path):
    # Its bytes per frame come from the header (1), not from the decoded sample type.
    data = bytes(range(256)) * 4
    (tmp_path / "mulaw.wav").write_bytes(wav_bytes(data, 7, 1, 8000, 8))
    audio, rate = read_audio(tmp_path / "mulaw.wav", sample_rate=None)
    assert rate == 8000 and audio.size == len(data)


def test_a_folder_and_silence_are_told_apart_from_audio(tmp_path):
    with pytest.raises(FxrError, match="is a folder"):
        read_audio(tmp_path)
    silent, _ = read_audio(float_wav(tmp_path / "silence.wav", np.zeros(SAMPLE_RATE)))
    assert silent.size == SAMPLE_RATE and not silent.any()  # silence is audio: callers decide


# ---------------------------------------------------------------- fxr render


@pytest.mark.parametrize("name", BAD_AUDIO)
def test_render_refuses_bad_dry_audio(tmp_path, name):
    dry, fragment = bad_file(tmp_path, name)
    result = fxr("render", "--effect", "delay", "--set", "delay_seconds=0.1", dry,
                 tmp_path / "wet.wav")  # fmt: skip
    assert_one_error_line(result, dry, fragment)
    assert_nothing_written(tmp_path, dry.name)


def test_render_of_silence_is_silence(tmp_path):
    dry = float_wav(tmp_path / "silence.wav", np.zeros(SAMPLE_RATE))
    result = fxr("render", "--effect", "delay", "--set", "delay_seconds=0.1", dry,
                 tmp_path / "wet.wav")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not read_audio(tmp_path / "wet.wav")[0].any()


def bad_outputs(folder: pathlib.Path) -> list[tuple[pathlib.Path, str]]:
    (folder / "a-folder.wav").mkdir()
    (folder / "a-file").write_text("")
    return [
        (folder / "wet.xyz", "fxr does not write .xyz audio; it writes .wav, .flac"),
        (folder / "wet", "no suffix"),
        (folder / "a-folder.wav", "a-folder.wav"),
        (folder / "a-file" / "wet.wav", "a-file is not a folder"),
    ]


def test_render_refuses_an_output_it_cannot_write_before_reading(tmp_path):
    dry = float_wav(tmp_path / "dry.wav", tone())
    for out, fragment in bad_outputs(tmp_path):
        result = fxr("render", "--effect", "delay", "--set", "delay_seconds=0.1", dry, out)
        assert_one_error_line(result, out, fragment)
    assert_nothing_written(tmp_path, "dry.wav", "a-folder.wav", "a-file")


def full_disk_write(self, data):
    """Path.write_bytes on a disk that fills up halfway: a torn file, then ENOSPC."""
    with open(self, "wb") as f:
        f.write(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device", str(self))


def test_a_full_disk_while_writing_audio_is_one_line_and_no_file(tmp_path, monkeypatch):
    dry = float_wav(tmp_path / "dry.wav", tone())
    out = tmp_path / "wet.flac"
    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk_write)
    result = fxr("render", "--effect", "delay", "--set", "delay_seconds=0.1", dry, out)
    assert_one_error_line(result, out, "No space left on device")
    assert_nothing_written(tmp_path, "dry.wav")


@pytest.fixture(params=["size=16k", "ro"])
def unwritable_folder(request, tmp_path):
    """A real full (16 kB) or read-only tmpfs, where the machine lets tests mount one."""
    folder = tmp_path / "mount"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", request.param, "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_real_full_or_read_only_destination_is_one_line(tmp_path, unwritable_folder):
    dry = float_wav(tmp_path / "dry.wav", tone())
    out = unwritable_folder / "wet.wav"
    result = fxr("render", "--effect", "delay", "--set", "delay_seconds=0.1", dry, out)
    assert_one_error_line(result, out, "cannot be written")
    assert_nothing_written(unwritable_folder)


def test_write_audio_refuses_non_finite_audio(tmp_path):
    with pytest.raises(FxrError, match="refusing to write: the audio holds NaN"):
        write_audio(tmp_path / "out.wav", with_value(np.nan), SAMPLE_RATE)
    assert_nothing_written(tmp_path)


# ---------------------------------------------------------------- effects


def _nan_render(audio, sample_rate, gain_db):
    return audio * np.float32(np.nan)


class EffectPlugin:
    @fxregistry.hookimpl
    def register_effects(self, register):
        register(Effect("broken", "returns NaN", (GAIN,), render=_nan_render))


GAIN = Parameter("gain_db", "dB", grid=(-6.0, 0.0), range=(-12.0, 0.0))


def test_an_effect_that_makes_nan_is_a_plugin_bug_named_with_its_setting(tmp_path):
    registry.get_plugin_manager().register(EffectPlugin(), name="broken-test")
    dry = float_wav(tmp_path / "dry.wav", tone())
    result = fxr("render", "--effect", "broken", "--set", "gain_db=-6", dry, tmp_path / "wet.wav")
    assert_one_error_line(result, "'broken'", "NaN or Inf at gain_db=-6", status=1)
    assert_nothing_written(tmp_path, "dry.wav")


def test_an_effect_refuses_non_finite_input():
    with pytest.raises(fxregistry.ParameterError, match="delay: the audio to render holds NaN"):
        registry.get_effect("delay")(with_value(np.inf), SAMPLE_RATE, delay_seconds=0.1)


# ---------------------------------------------------------------- fxr build


def build_args(source, out, *extra):
    return ("build", "--effect", "delay", "--source", source, "--out", out,
            "--clip-seconds", 0.25, "--workers", 1, *extra)  # fmt: skip


@pytest.mark.parametrize("name", BAD_AUDIO)
def test_build_strict_stops_at_a_bad_file_naming_it(tmp_path, name):
    bad, fragment = bad_file(tmp_path / "takes", name)
    write_audio(tmp_path / "takes" / "good.wav", tone(), SAMPLE_RATE)
    result = fxr(*build_args(tmp_path / "takes", tmp_path / "d.h5", "--strict"))
    assert_one_error_line(result, bad, fragment, "--strict")
    assert_nothing_written(tmp_path, "takes")


def test_build_skips_bad_files_with_a_warning_each_and_counts_them(tmp_path):
    folder = tmp_path / "takes"
    nan, _ = bad_file(folder, "nan")
    empty, _ = bad_file(folder, "empty")
    write_audio(folder / "good.wav", tone(), SAMPLE_RATE)
    result = fxr(*build_args(folder, tmp_path / "d.h5"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("fxr: warning:")]
    assert len(warnings) == 2
    assert {nan, empty} == {bad for bad in (nan, empty) for line in warnings if str(bad) in line}
    info = fxr("inspect", tmp_path / "d.h5", "--json")
    assert '"skipped_files": 2' in info.stdout and '"skipped_quiet_clips": 0' in info.stdout


def test_a_folder_of_only_bad_files_ends_in_an_error_that_counts_them(tmp_path):
    nan, _ = bad_file(tmp_path / "takes", "nan")
    result = fxr(*build_args(tmp_path / "takes", tmp_path / "d.h5"))
    assert result.exit_code == 2
    warning, error = result.stderr.splitlines()
    assert warning.startswith("fxr: warning: skipped") and str(nan) in warning
    assert error.startswith("fxr: error:") and "gave no clip" in error and "1 unreadable" in error
    assert_nothing_written(tmp_path, "takes")


def _loader(kind: str) -> np.ndarray:
    return {
        "good": tone(),
        "nan": with_value(np.nan),
        "empty": np.zeros(0, np.float32),
        "stereo": np.stack([tone(), tone()]),
    }[kind]


class SourcePlugin:
    @fxregistry.hookimpl
    def register_sources(self, register):
        def recordings(argument, seed):
            return [
                Recording(kind, functools.partial(_loader, kind)) for kind in argument.split(",")
            ]

        register(Source("loaders", "recordings from test loaders", recordings))


@pytest.mark.parametrize(
    "kind, fragment",
    [("nan", "NaN or Inf samples"), ("empty", "gave no audio"), ("stereo", "not mono audio")],
)
def test_a_source_plugins_bad_audio_is_checked_where_the_build_receives_it(
    tmp_path, kind, fragment
):
    registry.get_plugin_manager().register(SourcePlugin(), name="loaders-test")
    result = fxr(*build_args(f"loaders:{kind},good", tmp_path / "d.h5", "--strict"))
    assert_one_error_line(result, f"recording {kind}", fragment)
    result = fxr(*build_args(f"loaders:{kind},good", tmp_path / "d.h5"))
    assert result.exit_code == 0, result.output
    assert f"fxr: warning: skipped recording {kind}:" in result.stderr


# ---------------------------------------------------------------- fxr estimate


def estimate_args(run, wet, dry, out):
    return ("estimate", run, wet, "--dry", dry, "--render-to", out, "--device", "cpu")


ESTIMATE_BAD = {
    **{name: fragment for name, (_, fragment) in BAD_AUDIO.items()},
    "silence": "the audio is silent",
    "short": "too short for the 0.25 s windows; give at least 0.062 s",
}


def estimate_file(folder: pathlib.Path, name: str) -> pathlib.Path:
    if name == "silence":
        return float_wav(folder / "silence.wav", np.zeros(SAMPLE_RATE))
    if name == "short":
        return float_wav(folder / "short.wav", tone(0.05))
    return bad_file(folder, name)[0]


@pytest.mark.parametrize("role", ["wet", "dry"])
@pytest.mark.parametrize("name", ESTIMATE_BAD)
def test_estimate_refuses_bad_wet_or_dry_audio_naming_the_file(pair_run, tmp_path, name, role):
    bad = estimate_file(tmp_path, name)
    good = float_wav(tmp_path / "good.wav", tone())
    wet, dry = (bad, good) if role == "wet" else (good, bad)
    result = fxr(*estimate_args(pair_run, wet, dry, tmp_path / "match.wav"))
    assert_one_error_line(result, bad, ESTIMATE_BAD[name])
    assert_nothing_written(tmp_path, bad.name, "good.wav")


def test_estimate_refuses_a_bad_render_to_before_any_work(tmp_path):
    audio = float_wav(tmp_path / "audio.wav", tone())
    for out, fragment in bad_outputs(tmp_path):
        # No run at all: the output is checked first, so its error is the one shown.
        result = fxr(*estimate_args(tmp_path / "no-run", audio, audio, out))
        assert_one_error_line(result, out, fragment)
    assert_nothing_written(tmp_path, "audio.wav", "a-folder.wav", "a-file")


def test_estimate_on_a_full_disk_is_one_line_and_no_file(pair_run, tmp_path, monkeypatch):
    audio = float_wav(tmp_path / "audio.wav", tone())
    out = tmp_path / "match.wav"
    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk_write)
    result = fxr(*estimate_args(pair_run, audio, audio, out))
    assert_one_error_line(result, out, "No space left on device")
    assert_nothing_written(tmp_path, "audio.wav")
