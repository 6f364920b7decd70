"""torchaudio's band-limited sinc resampler, ported to numpy.

What ``torchaudio.transforms.Resample(orig_hz, new_hz)`` computes with its
defaults (Hann-windowed sinc, ``lowpass_filter_width=6``, ``rolloff=0.99``):
the same kernel, built in float64 and kept in float32 as torchaudio keeps
it, applied as torchaudio's strided convolution. Reading files at other
rates, and effects that resample, use it so that neither needs torch (whose
import alone takes longer than an estimate); tests/test_resample.py checks
it against torchaudio.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

LOWPASS_FILTER_WIDTH = 6  # zero crossings of the sinc kept on each side
ROLLOFF = 0.99  # the cutoff, as a fraction of the lower rate's Nyquist frequency
# Frames multiplied at once are capped near 16 MB: a 1:2 ratio frames each input sample
# 15 times, which for a whole song would be gigabytes.
_CHUNK_VALUES = 1 << 22


@functools.lru_cache(maxsize=16)
def _kernel(orig: int, new: int) -> tuple[np.ndarray, int]:
    """``(new, 2·width + orig)`` float32 filters, one per output phase, and ``width``.

    ``torchaudio.functional._get_sinc_resample_kernel`` for rates in lowest
    terms; building it costs more than resampling a clip, hence the cache.
    """
    base = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_FILTER_WIDTH * orig / base)
    taps = np.arange(-width, width + orig, dtype=np.float64) / orig
    # torchaudio divides the output phases in float32, its default dtype, then adds in float64.
    phases = np.arange(0, -new, -1).astype(np.float32) / np.float32(new)
    t = (phases[:, None] + taps) * base
    t = t.clip(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    window = np.cos(t * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    t *= math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(t == 0, 1.0, np.sin(t) / t)
    return (sinc * (window * (base / orig))).astype(np.float32), width


def _strided_convolution(padded: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """``(rows, samples)`` -> ``(rows, frames·phases)``: torch's conv1d, its phases interleaved."""
    frames = sliding_window_view(padded, kernel.shape[-1], axis=-1)[:, ::stride]
    out = np.empty((len(padded), frames.shape[1], len(kernel)), dtype=np.float32)
    step = max(1, _CHUNK_VALUES // (len(padded) * kernel.shape[-1]))
    for start in range(0, frames.shape[1], step):
        out[:, start : start + step] = frames[:, start : start + step] @ kernel.T
    return out.reshape(len(padded), -1)


def resample(audio: np.ndarray, orig_hz: int, new_hz: int) -> np.ndarray:
    """``(..., samples)`` audio from ``orig_hz`` to ``new_hz`` (integers) -> float32.

    The result has ``ceil(samples·new_hz/orig_hz)`` samples, as torchaudio's.
    """
    x = np.asarray(audio, dtype=np.float32)
    if orig_hz == new_hz:
        return x
    gcd = math.gcd(orig_hz, new_hz)
    orig, new = orig_hz // gcd, new_hz // gcd
    kernel, width = _kernel(orig, new)
    length = x.shape[-1]
    padded = np.pad(x.reshape(-1, length), ((0, 0), (width, width + orig)))
    # Output block i is every phase's filter against the input from i·orig on.
    out = _strided_convolution(padded, kernel, orig)
    # torchaudio rounds the length in float32, which a long input can tell apart from float64.
    target = int(np.ceil(np.float32(new * length / orig)))
    return out[:, :target].reshape(*x.shape[:-1], -1)
