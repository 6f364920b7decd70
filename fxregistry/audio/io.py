"""Reading and writing audio files, and level helpers.

Reading goes through pedalboard.io (wav, flac, ogg, mp3, aiff): any rate and
channel count, downmixed and resampled on request.  Audio is validated here,
where it enters fxr, so that everything downstream (builds, renders,
estimates) can trust it: a file that is truncated, empty, non-finite or has
an implausible rate or channel count is refused with one line naming it.

Writing encodes in memory and then writes the bytes through
:func:`~fxregistry.files.atomic_write`: the encoder does not report a full
disk (it leaves a short file and returns), Python's file writes do, and an
interrupted or failed write never leaves a file that looks whole.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np

from fxregistry.audio.resample import resample as sinc_resample
from fxregistry.errors import FxrError
from fxregistry.files import atomic_write, write_error

__all__ = [
    "SAMPLE_RATE",
    "AUDIO_SUFFIXES",
    "LOSSY_SUFFIXES",
    "sample_exact",
    "word_bits",
    "word_step",
    "rounding_noise",
    "WRITE_SUFFIXES",
    "read_audio",
    "write_audio",
    "DELIVERIES",
    "as_delivered",
    "check_audio_output",
    "check_audio_finite",
    "resample",
    "rms_db",
]

SAMPLE_RATE = 44100
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".m4a")
WRITE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
# Lossy codecs: every sample moves, so no sample-exact property of the audio survives.
LOSSY_SUFFIXES = (".ogg", ".mp3", ".m4a")
# What real recordings use (telephone speech to the fastest converters sold);
# a rate or channel count outside is a damaged header, not audio.
RATE_RANGE = (1000, 768_000)
MAX_CHANNELS = 256


def sample_exact(path: str | os.PathLike) -> bool:
    """Whether the file at ``path`` keeps its samples as written (not a lossy codec)."""
    return Path(path).suffix.lower() not in LOSSY_SUFFIXES


def word_bits(path: str | os.PathLike) -> int | None:
    """The bits per sample of an integer-coded file (16 for CD audio), None for floats
    and lossy codecs.

    Its samples then lie within a step of a grid of that word length, not on
    it: writers round to it either way, and decoders scale by ``2**(bits-1)``
    or by that less one (JUCE's, behind pedalboard, which reads a 16-bit
    full scale as 32767 and writes the positive half so), so a check that
    compares samples allows one step (:mod:`fxregistry.estimation.fixed_point`).
    """
    if not sample_exact(path):
        return None
    from pedalboard.io import AudioFile

    with AudioFile(str(path)) as f:
        kind = str(f.file_dtype)
    return int(kind[3:]) if kind.startswith("int") and kind[3:].isdigit() else None


def word_step(word_bits: int | None) -> float:
    """One step of a ``word_bits`` integer file as fxr reads it (0 for floats): the
    larger of the two scalings decoders use (:func:`word_bits`)."""
    return 0.0 if not word_bits else 1.0 / (2 ** (word_bits - 1) - 1)


def rounding_noise(word_bits: int | None) -> float:
    """The rms of the white noise that rounding to ``word_bits`` integers adds (0 for
    floats): a step over the square root of 12."""
    return word_step(word_bits) / np.sqrt(12)


def resample(audio: np.ndarray, orig_hz: float, new_hz: float) -> np.ndarray:
    """Band-limited resampling of ``(..., samples)`` float32 audio (torchaudio's, in numpy)."""
    if int(orig_hz) == int(new_hz):
        return audio
    return sinc_resample(audio, int(orig_hz), int(new_hz))


def _check_format(path: Path, rate: float, channels: int) -> None:
    low, high = RATE_RANGE
    if not low <= rate <= high:
        raise FxrError(f"{path}: sample rate {rate:g} Hz is outside {low} to {high} Hz")
    if not 1 <= channels <= MAX_CHANNELS:
        raise FxrError(f"{path}: {channels} channels; audio has 1 to {MAX_CHANNELS}")


def check_audio_finite(audio: np.ndarray, rate: float, what: str) -> None:
    """Raise :class:`FxrError` naming ``what`` if ``audio`` holds NaN or Inf samples."""
    finite = np.isfinite(audio)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=0) if audio.ndim == 2 else ~finite)
        raise FxrError(
            f"{what}: the audio holds NaN or Inf samples ({bad.size} of {audio.shape[-1]} "
            f"frames, the first at {bad[0] / rate:.3f} s)"
        )


def _pcm_room(path: Path) -> int | None:
    """Frames an uncompressed (wav, aiff) file has bytes for; None for other formats.

    The decoder pads a truncated file with silence up to the length its
    header promises, so a cut-off download would read as a quiet ending.
    The bytes per frame come from the header itself (wav's block align,
    aiff's sample size), which also holds for 8-bit A-law and mu-law.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:] == b"WAVE":
            order, fmt_chunk, audio_chunk, skip = "<", b"fmt ", b"data", 0
        elif head[:4] == b"FORM" and head[8:] == b"AIFF":
            order, fmt_chunk, audio_chunk, skip = ">", b"COMM", b"SSND", 8  # offset, block size
        else:
            return None
        frame_bytes = None
        while len(chunk := f.read(8)) == 8:
            size = struct.unpack(order + "I", chunk[4:])[0]
            if chunk[:4] == audio_chunk:
                start = f.tell() + skip
                break
            if chunk[:4] != fmt_chunk:
                f.seek(size + (size & 1), os.SEEK_CUR)  # chunks are padded to even sizes
                continue
            body = f.read(size + (size & 1))
            if len(body) < 14:
                return None
            if order == "<":  # tag, channels, rate, bytes per second, block align
                frame_bytes = struct.unpack("<H", body[12:14])[0]
            else:  # channels, frames, bits per sample
                channels, _, bits = struct.unpack(">HIH", body[:8])
                frame_bytes = channels * ((bits + 7) // 8)
        else:
            return None
    if not frame_bytes:
        return None
    return max(0, path.stat().st_size - start) // frame_bytes


def read_audio(
    path: str | os.PathLike, sample_rate: int | None = SAMPLE_RATE, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 ``(channels, samples)`` (or ``(samples,)`` when ``mono``).

    With ``sample_rate`` set, the audio is resampled to it.  Raises
    :class:`FxrError` with the file's name when it cannot be decoded, is
    truncated, holds no audio or non-finite samples, or has a rate or
    channel count no recording has (:data:`RATE_RANGE`, :data:`MAX_CHANNELS`).
    """
    from pedalboard.io import AudioFile

    path = Path(path)
    if path.is_dir():
        raise FxrError(f"{path}: is a folder, not an audio file")
    if not path.is_file():
        raise FxrError(f"{path}: no such audio file")
    try:
        with AudioFile(str(path)) as f:
            rate, channels, frames = f.samplerate, f.num_channels, f.frames
            _check_format(path, rate, channels)
            if frames == 0:
                raise FxrError(f"{path}: the file holds no audio")
            room = _pcm_room(path)
            if room is not None and room < frames:
                raise FxrError(
                    f"{path}: truncated: its header promises {frames} frames "
                    f"({frames / rate:.2f} s), the file has bytes for at most {room}"
                )
            audio = f.read(frames)
    except FxrError:
        raise
    except Exception as exc:
        raise FxrError(f"{path}: cannot decode audio ({' '.join(str(exc).split())})") from None
    audio = np.asarray(audio, dtype=np.float32)
    rate = int(round(rate))
    if audio.shape[-1] == 0:
        raise FxrError(f"{path}: the file holds no audio")
    check_audio_finite(audio, rate, str(path))
    if mono:
        audio = audio.mean(axis=0)
    if sample_rate is not None and rate != sample_rate:
        audio, rate = resample(audio, rate, sample_rate), sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), rate


# The finest sample format each container takes: renders are written as exactly
# as the format allows (wav: 32-bit float, lossless), not at a 16-bit default.
_BIT_DEPTH = {".wav": 32, ".flac": 24, ".aif": 24, ".aiff": 24}


def check_audio_output(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output path that :func:`write_audio` could not write.

    The suffix must name a format fxr writes (:data:`WRITE_SUFFIXES`), the
    path must not be a folder, and its nearest existing parent must be one.
    """
    path = Path(path)
    if path.is_dir():
        raise FxrError(f"{path}: is a folder; give a file name for the audio")
    if path.suffix.lower() not in WRITE_SUFFIXES:
        known = ", ".join(WRITE_SUFFIXES)
        if not path.suffix:
            raise FxrError(f"{path}: no suffix to choose the audio format by; fxr writes {known}")
        raise FxrError(f"{path}: fxr does not write {path.suffix} audio; it writes {known}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FxrError(f"{path}: cannot write there: {parent} is not a folder")
    return path


def _encode(
    path: Path, audio: np.ndarray, sample_rate: int, bit_depth: int | None, quality=None
) -> bytes:
    from pedalboard.io import AudioFile

    suffix = path.suffix.lower()
    options = {"bit_depth": bit_depth or _BIT_DEPTH[suffix]} if suffix in _BIT_DEPTH else {}
    if quality is not None:
        options["quality"] = quality
    buffer = io.BytesIO()
    try:
        with AudioFile(
            buffer,
            "w",
            samplerate=sample_rate,
            num_channels=audio.shape[0],
            format=suffix[1:],
            **options,
        ) as f:
            f.write(audio)
    except (ValueError, RuntimeError) as exc:  # the format refuses this rate or channel count
        raise FxrError(
            f"{path}: cannot encode {audio.shape[0]} channel(s) at {sample_rate} Hz "
            f"as {suffix[1:]} ({' '.join(str(exc).split())})"
        ) from None
    return buffer.getvalue()


# How a file delivers audio (as_delivered): a wav of 16-bit integers, or an mp3 at
# one of a few bitrates (kbps) that reference tracks come at.
DELIVERIES = {"16bit": None, "mp3:128": 128, "mp3:192": 192, "mp3:320": 320}


def as_delivered(audio: np.ndarray, sample_rate: int, delivery: str = "16bit") -> np.ndarray:
    """``audio`` as a file of ``delivery`` (:data:`DELIVERIES`) holds it, read back with
    pedalboard's writer and reader in memory: the rounding (:func:`word_bits`) or the
    codec a user's file has. The same shape; an mp3 keeps its decoder's latency at the
    start, as reading such a file does, and is cut to the length."""
    from pedalboard.io import AudioFile

    audio = np.asarray(audio, dtype=np.float32)
    channels = np.atleast_2d(audio)
    if delivery == "16bit":
        encoded = _encode(Path("delivered.wav"), channels, int(sample_rate), 16)
    else:
        kbps = DELIVERIES[delivery]
        encoded = _encode(Path("delivered.mp3"), channels, int(sample_rate), None, kbps)
    with AudioFile(io.BytesIO(encoded)) as f:
        read = f.read(f.frames)[:, : channels.shape[-1]]
    if read.shape[-1] < channels.shape[-1]:
        read = np.pad(read, ((0, 0), (0, channels.shape[-1] - read.shape[-1])))
    return np.ascontiguousarray(read, dtype=np.float32).reshape(audio.shape)


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    bit_depth: int | None = None,
    kbps: int | None = None,
) -> Path:
    """Write float32 audio (``(samples,)`` or ``(channels, samples)``) atomically.

    ``bit_depth`` (16, 24, 32) overrides the finest sample format the
    container takes, for formats that have one (wav, flac, aiff); ``kbps``
    an mp3's bitrate (pedalboard's default: 320).

    Raises :class:`FxrError` naming ``path`` for an output
    :func:`check_audio_output` refuses, audio holding NaN or Inf, and a
    failed write (full disk, read-only folder); no partial file is left.
    """
    path = check_audio_output(path)
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    _check_format(path, sample_rate, audio.shape[0])
    check_audio_finite(audio, sample_rate, f"{path}: refusing to write")
    encoded = _encode(path, audio, int(sample_rate), bit_depth, kbps)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Keep the real suffix last, as the format was chosen from it.
        with atomic_write(path, keep_suffix=True) as partial:
            partial.write_bytes(encoded)
    except OSError as exc:  # creating the folder; atomic_write words its own errors alike
        raise write_error(path, exc) from None
    return path


def rms_db(audio: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-inf for silence)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")
