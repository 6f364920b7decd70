"""Reading and writing audio files, and level helpers.

Reading goes through pedalboard.io (wav, flac, ogg, mp3, aiff): any rate and
channel count, downmixed and resampled on request.  Writing goes to a
temporary name first, so an interrupted write never leaves a file that looks
whole.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from fxregistry.errors import FxrError

__all__ = ["SAMPLE_RATE", "read_audio", "write_audio", "resample", "rms_db", "AUDIO_SUFFIXES"]

SAMPLE_RATE = 44100
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".m4a")


@functools.lru_cache(maxsize=16)
def _resampler(orig_hz: int, new_hz: int):
    import torchaudio

    return torchaudio.transforms.Resample(orig_hz, new_hz)


def resample(audio: np.ndarray, orig_hz: int, new_hz: int) -> np.ndarray:
    """Band-limited resampling of ``(..., samples)`` float32 audio."""
    if int(orig_hz) == int(new_hz):
        return audio
    import torch

    with torch.inference_mode():
        out = _resampler(int(orig_hz), int(new_hz))(torch.from_numpy(np.ascontiguousarray(audio)))
    return out.numpy().astype(np.float32, copy=False)


def read_audio(
    path: str | os.PathLike, sample_rate: int | None = SAMPLE_RATE, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 ``(channels, samples)`` (or ``(samples,)`` when ``mono``).

    With ``sample_rate`` set, the audio is resampled to it.  Raises
    :class:`FxrError` with the file's name when it cannot be decoded.
    """
    from pedalboard.io import AudioFile

    path = Path(path)
    if not path.is_file():
        raise FxrError(f"{path}: no such audio file")
    try:
        with AudioFile(str(path)) as f:
            audio = f.read(f.frames)
            rate = int(round(f.samplerate))
    except Exception as exc:
        raise FxrError(f"{path}: cannot decode audio ({exc})") from None
    audio = np.asarray(audio, dtype=np.float32)
    if audio.shape[-1] == 0:
        raise FxrError(f"{path}: the file holds no audio")
    if mono:
        audio = audio.mean(axis=0)
    if sample_rate is not None and rate != sample_rate:
        audio, rate = resample(audio, rate, sample_rate), sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), rate


# The finest sample format each container takes: renders are written as exactly
# as the format allows (wav: 32-bit float, lossless), not at a 16-bit default.
_BIT_DEPTH = {".wav": 32, ".flac": 24, ".aif": 24, ".aiff": 24}


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write float32 audio (``(samples,)`` or ``(channels, samples)``) atomically."""
    from pedalboard.io import AudioFile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    # Keep the real suffix last so the encoder is chosen from it.
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        options = {}
        if path.suffix.lower() in _BIT_DEPTH:
            options["bit_depth"] = _BIT_DEPTH[path.suffix.lower()]
        with AudioFile(
            str(tmp), "w", samplerate=sample_rate, num_channels=audio.shape[0], **options
        ) as f:
            f.write(audio)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def rms_db(audio: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-inf for silence)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")
