"""Portable models: a run's network exported to ONNX, served without torch.

`fxr export RUN OUT.onnx` writes the graph with everything estimate needs as
metadata; `fxr estimate OUT.onnx WET` then answers as the run does. fxr's
shipped estimators are served this way, so that `fxr estimate song.wav`
does not pay torch's import. Every registered model is tested because it is
registered.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.io import write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.errors import FxrError
from fxregistry.estimation.estimate import estimate
from fxregistry.estimation.models import export_onnx, load_predictor
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit

SAMPLE_RATE = 44100
MODELS = sorted(registry.registrations("model"))
registry.reset()


@pytest.fixture(scope="module")
def delay_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("portable") / "delay.h5"
    config = BuildConfig(effect="delay", source="synth:2", clip_seconds=0.5, max_clips=2)
    build(config, data, workers=1)
    return data


@pytest.mark.parametrize("model", MODELS)
def test_every_model_exports_and_answers_as_the_run_does(model, delay_data, guitar, tmp_path):
    fit(FitConfig(model=model, data=str(delay_data), input="wet", epochs=1), tmp_path / "run")
    portable = export_onnx(tmp_path / "run", tmp_path / "delay.onnx")
    wet = tmp_path / "wet.wav"
    write_audio(wet, registry.get_effect("delay")(guitar, SAMPLE_RATE, delay_seconds=0.1), 44100)
    by_run = estimate(tmp_path / "run", wet, device="cpu")
    by_file = estimate(portable, wet, device="cpu")
    for name, p in by_run["parameters"].items():
        assert by_file["parameters"][name]["network"] == pytest.approx(p["network"], abs=1e-4)
    assert by_file["effect"] == by_run["effect"] == "delay"


def test_the_cli_exports_and_refuses_a_name_without_onnx(delay_data, tmp_path):
    fit(FitConfig(model="cnn", data=str(delay_data), input="wet", epochs=1), tmp_path / "run")
    runner = CliRunner()
    done = runner.invoke(cli, ["export", str(tmp_path / "run"), str(tmp_path / "m.onnx")])
    assert done.exit_code == 0 and (tmp_path / "m.onnx").is_file()
    card = load_predictor(tmp_path / "m.onnx", "cpu").card
    assert card.input == "wet" and card.effect.name == "delay" and card.classes is None
    refused = runner.invoke(cli, ["export", str(tmp_path / "run"), str(tmp_path / "m.pt")])
    assert refused.exit_code == 2 and "must end in .onnx" in refused.output
    assert not (tmp_path / "m.pt").exists()


def test_a_portable_model_is_loaded_once_per_process_until_its_file_changes(delay_data, tmp_path):
    fit(FitConfig(model="cnn", data=str(delay_data), input="wet", epochs=1), tmp_path / "run")
    path = export_onnx(tmp_path / "run", tmp_path / "m.onnx")
    first = load_predictor(path, "cpu")
    assert load_predictor(path, "cpu") is first
    # Written again (another export, a retrained model): the new file is served.
    fit(FitConfig(model="cnn", data=str(delay_data), input="pair", epochs=1), tmp_path / "pair")
    export_onnx(tmp_path / "pair", path)
    again = load_predictor(path, "cpu")
    assert again is not first and again.card.input != first.card.input


def test_a_damaged_portable_model_is_one_clear_error(tmp_path):
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(b"not a graph")
    with pytest.raises(FxrError, match="not a readable fxr portable model"):
        load_predictor(damaged)
    with pytest.raises(FxrError, match="no such model file"):
        load_predictor(tmp_path / "missing.onnx")


def test_serving_a_portable_model_does_not_import_torch(tmp_path):
    shipped = [
        e for e in registry.registrations("estimator").values() if e.item.file().endswith(".onnx")
    ]
    if not shipped:
        pytest.skip("no portable estimator installed")
    wet = tmp_path / "wet.wav"
    write_audio(wet, 0.1 * np.random.default_rng(0).standard_normal(SAMPLE_RATE), SAMPLE_RATE)
    code = (
        "import sys\n"
        "from fxregistry.estimation.defaults import estimate_with_defaults\n"
        f"estimate_with_defaults({str(wet)!r})\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
