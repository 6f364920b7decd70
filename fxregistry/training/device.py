"""Which device trains and estimates, and how to use it well.

``auto`` picks CUDA, then Apple's MPS, then the CPU, so one command works on a
laptop and on a GPU server. Asking for a device that is not there is a user
error (exit status 2), not a silent fallback.
"""

from __future__ import annotations

import contextlib
import os

import torch

from fxregistry.errors import FxrError
from fxregistry.training.config import DEVICE_HELP

__all__ = ["select_device", "mixed_precision", "autocast", "grad_scaler"]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def select_device(spec: str = "auto") -> torch.device:
    """The ``torch.device`` for ``spec``; on the CPU, also use every core."""
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        elif _mps_available():
            spec = "mps"
        else:
            spec = "cpu"
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise FxrError(f"unknown device {spec!r} (use {DEVICE_HELP})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise FxrError(f"device {spec!r} asked for, but CUDA is not available here")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise FxrError(
                f"device {spec!r} asked for, but there are {torch.cuda.device_count()} CUDA devices"
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not _mps_available():
        raise FxrError(f"device {spec!r} asked for, but MPS is not available here")
    if device.type not in ("cpu", "cuda", "mps"):
        raise FxrError(f"unknown device {spec!r} (use {DEVICE_HELP})")
    if device.type == "cpu":
        torch.set_num_threads(_cores())
    return device


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))  # what this process may use, e.g. in a container
    return os.cpu_count() or 1


def mixed_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``device``: bfloat16 or float16 on CUDA, none elsewhere.

    CPU autocast slows convolutions down, and MPS's is young; both train in float32.
    """
    if device.type != "cuda":
        return None
    # bfloat16 has float32's range, so it needs no loss scaling.
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device):
    """Mixed precision where :func:`mixed_precision` says so, else a no-op."""
    dtype = mixed_precision(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling for float16 autocast; a pass-through otherwise."""
    enabled = mixed_precision(device) == torch.float16
    return torch.amp.GradScaler(device.type if enabled else "cpu", enabled=enabled)
