"""The model files ``fxr estimate`` reads: a run's bundle, or its portable ONNX export.

- A **bundle** (``model.pt``, :class:`~fxregistry.training.runs.RunBundle`)
  runs through torch, on any device, with the model's plugin installed.
- A **portable model** (``.onnx``, written by :func:`export_onnx`, ``fxr
  export``) is the same network as an ONNX graph (opset 17), and everything
  else the bundle stores but its weights as JSON in the graph's metadata
  (key ``fxr``). It runs through onnxruntime, without torch and without the
  model's plugin: torch's import alone takes longer (1.9 s) than the whole
  estimate, which is why fxr ships its default estimators this way.

Either way :func:`load_predictor` gives a :class:`Predictor`: what the
model needs to be fed (:class:`ModelCard`) and a function from network
inputs to outputs, both numpy.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxregistry.audio.features import FeatureConfig
from fxregistry.audio.io import SAMPLE_RATE
from fxregistry.dataset.config import CLIP_SECONDS
from fxregistry.errors import FxrError
from fxregistry.files import atomic_write
from fxregistry.specs.effect import Effect
from fxregistry.training.config import Normalization

__all__ = ["ModelCard", "Predictor", "PORTABLE_SUFFIX", "export_onnx", "load_predictor"]

PORTABLE_SUFFIX = ".onnx"
METADATA_KEY = "fxr"
OPSET = 17
# What a bundle stores besides its weights, as RunBundle.to_dict names it.
_CARD_KEYS = ("input", "normalization", "effect", "features")


@dataclass(frozen=True)
class ModelCard:
    """What feeding a model and reading its answer takes, whatever runs it.

    ``stored`` is the bundle's dict without its weights (``RunBundle.to_dict``).
    """

    stored: Mapping[str, Any] = field(repr=False)
    source: Path | None = None

    @property
    def input(self) -> str:
        return self.stored["input"]

    @property
    def normalization(self) -> Normalization:
        return Normalization(**self.stored["normalization"])

    @property
    def features(self) -> FeatureConfig:
        return FeatureConfig(**self.stored["features"])

    @property
    def effect(self) -> Effect:
        """The effect's parameters, as an :class:`Effect` that cannot render."""
        return Effect.from_dict(self.stored["effect"])

    @property
    def data(self) -> Mapping[str, Any]:
        return self.stored.get("data", {})

    @property
    def clip(self) -> int:
        """The model's window, in samples at 44.1 kHz: its dataset's clips."""
        return int(round(self.data.get("clip_seconds", CLIP_SECONDS) * SAMPLE_RATE))

    @property
    def classes(self) -> tuple[str, ...] | None:
        classes = self.stored.get("classes")
        return None if classes is None else tuple(classes)


@dataclass(frozen=True)
class Predictor:
    """A loaded model: ``predict`` maps ``(batch, channels, bins, frames)`` float32 inputs,
    normalized, to its ``(batch, outputs)`` sigmoid outputs."""

    card: ModelCard
    predict: Callable[[np.ndarray], np.ndarray]


def load_predictor(path: str | os.PathLike, device: str = "auto") -> Predictor:
    """The model of a run directory, a bundle file or a portable ``.onnx`` file."""
    if Path(path).suffix.lower() == PORTABLE_SUFFIX:
        return _load_portable(Path(path), device)
    return _load_bundle(path, device)


def _load_bundle(path: str | os.PathLike, device: str) -> Predictor:
    import torch

    from fxregistry.training.device import select_device
    from fxregistry.training.runs import RunBundle

    bundle = RunBundle.load(path)
    torch_device = select_device(device)
    model = bundle.create_model().to(torch_device).eval()

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x).to(torch_device)).float().cpu().numpy()

    stored = {k: v for k, v in bundle.to_dict().items() if k != "state_dict"}
    return Predictor(ModelCard(stored, bundle.source), predict)


# (path, its size and modification time, device) -> its Predictor. Creating an
# onnxruntime session costs more than a 2 s window's inference: a process that
# estimates many files (an application, a benchmark) spent 30 % of its time on it when
# every estimate loaded each model again. A rewritten file is loaded again.
_portable: dict[tuple[str, int, int, str], Predictor] = {}
_PORTABLE_CACHE = 64  # far more than the shipped estimators


def _load_portable(path: Path, device: str) -> Predictor:
    if not path.is_file():
        raise FxrError(f"{path}: no such model file")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, device)
    if key not in _portable:
        if len(_portable) >= _PORTABLE_CACHE:
            del _portable[next(iter(_portable))]
        _portable[key] = _session_predictor(path, device)
    return _portable[key]


def _session_predictor(path: Path, device: str) -> Predictor:
    import onnxruntime

    # The shipped models are small: where onnxruntime has no CUDA, the CPU serves them
    # in milliseconds, so --device cuda is honoured where it can be and not refused.
    providers = ["CPUExecutionProvider"]
    wants_cuda = device.strip().lower() in ("auto", "cuda") or device.startswith("cuda:")
    if wants_cuda and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not the user's
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        metadata = session.get_modelmeta().custom_metadata_map
        stored = json.loads(metadata[METADATA_KEY])
    except Exception as exc:  # onnxruntime raises its own kinds for a damaged file
        raise FxrError(
            f"{path}: not a readable fxr portable model ({type(exc).__name__})"
        ) from None
    missing = [key for key in _CARD_KEYS if key not in stored]
    if missing:
        raise FxrError(f"{path}: not a whole fxr portable model (no {', '.join(missing)})")
    name = session.get_inputs()[0].name

    def predict(x: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]

    return Predictor(ModelCard(stored, path), predict)


def export_onnx(run: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the model of ``run`` (a run directory or bundle file) as a portable ``.onnx``.

    The graph takes any batch size; it is checked against torch on a random
    input before the file is kept.
    """
    import torch

    try:
        import onnx
    except ImportError:
        raise FxrError(
            "exporting needs the onnx package: pip install 'fxregistry[export]'"
        ) from None

    from fxregistry.training.runs import RunBundle

    out = Path(out)
    if out.suffix.lower() != PORTABLE_SUFFIX:
        raise FxrError(f"{out}: a portable model's name must end in {PORTABLE_SUFFIX}")
    bundle = RunBundle.load(run)
    model = bundle.create_model().eval()
    stored = {k: v for k, v in bundle.to_dict().items() if k != "state_dict"}
    bins, frames = bundle.features.shape(ModelCard(stored).clip)
    example = torch.rand(2, bundle.in_channels, bins, frames)
    with atomic_write(out) as partial, warnings.catch_warnings():
        # The tracer warns that shapes become constants: bins and frames are the
        # model's own (its features and clip); only the batch is left dynamic.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # The TorchScript exporter is deprecated, but the new one needs onnxscript and
        # more; this one writes the same graph (checked below) with onnx alone.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(partial),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
        graph = onnx.load(str(partial))
        onnx.helper.set_model_props(graph, {METADATA_KEY: json.dumps(stored)})
        onnx.save(graph, str(partial))
        _check_export(model, example, Path(partial))
    return out


def _check_export(model, example, path: Path) -> None:
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(example).numpy()
    got = session.run(None, {"x": example.numpy()})[0]
    if not np.allclose(got, expected, atol=1e-4):
        worst = float(np.abs(got - expected).max())
        raise FxrError(f"the ONNX export differs from the model by {worst:.2g}; not kept")
