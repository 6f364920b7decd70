"""`--residual` builds and `--input pair+residual`: what the effect added or removed.

The residual spectrogram is that of wet minus dry audio. It exists because
the wet spectrogram alone buries small effects (a 14-bit crush moves the Mel
bands by hundredths of a dB) while their difference is plain to see.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.features import FeatureConfig, spectrogram
from fxregistry.audio.io import write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.estimation.estimate import estimate
from fxregistry.evaluation.evaluate import evaluate
from fxregistry.training.batches import load_split, open_split
from fxregistry.training.config import INPUTS, FitConfig
from fxregistry.training.fit import fit


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("residual")
    made = {}
    for name, residual in (("with", True), ("without", False)):
        config = BuildConfig(
            effect="bitcrusher",
            source="synth:4",
            clip_seconds=0.5,
            max_clips=8,
            keep_audio=True,
            residual=residual,
        )
        build(config, folder / f"{name}.h5", workers=1)
        made[name] = folder / f"{name}.h5"
    registry.reset()
    return made


def test_the_residual_is_the_spectrogram_of_wet_minus_dry_audio(data):
    with h5py.File(data["with"]) as f:
        assert f.attrs["residual"]
        clip = f["examples/clip"][:]
        for row in (0, 5, 16):  # bit depths 0, 5 and 16 (untouched) of the first clip
            difference = f["examples/audio"][row] - f["clips/audio"][clip[row]]
            expected = spectrogram(difference[None], FeatureConfig())[0]
            np.testing.assert_allclose(f["examples/residual_mel"][row], expected, atol=0.07)
        untouched = f["examples/residual_mel"][16]
        assert f["examples/params"][16, 0] == 16 and np.all(untouched == -100)
    with h5py.File(data["without"]) as f:
        assert "examples/residual_mel" not in f and not f.attrs["residual"]


def test_streamed_and_in_memory_residuals_agree(data):
    memory = load_split(data["with"], "train", "mel", residual=True)
    streamed = open_split(data["with"], "train", "mel", in_memory=False, residual=True)
    batch = streamed[[3, 1]]
    assert torch.equal(batch.residual, memory.residual[[1, 3]])
    assert load_split(data["with"], "train", "mel").residual is None


def test_pair_plus_residual_trains_evaluates_and_estimates(data, tmp_path):
    config = FitConfig(
        model="cnn", data=str(data["with"]), input="pair+residual", epochs=2, device="cpu"
    )
    fit(config, tmp_path / "run")
    result = evaluate(tmp_path / "run", device="cpu", figures=False)
    assert result["input"] == "pair+residual" and result["splits"]["train"]["n"] > 0

    bitcrusher = registry.get_effect("bitcrusher")
    dry = registry.get_source("synth").recordings("2", 3)[0].load()[:44100]
    write_audio(tmp_path / "dry.wav", dry, 44100)
    write_audio(tmp_path / "wet.wav", bitcrusher(dry, 44100, bit_depth=6), 44100)
    found = estimate(tmp_path / "run", tmp_path / "wet.wav", tmp_path / "dry.wav", device="cpu")
    assert 0 <= found["parameters"]["bit_depth"]["value"] <= 16


def test_pair_plus_residual_on_a_dataset_without_residuals_is_one_clear_line(data, tmp_path):
    args = ["fit", "--model", "cnn", "--data", str(data["without"]), "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, [*args, "--input", "pair+residual", "--device", "cpu"])
    assert result.exit_code == 2
    assert "rebuild it with `fxr build --residual`" in result.stderr


def test_the_command_line_offers_every_input_mode():
    fit_command = cli.commands["fit"]
    choice = next(p for p in fit_command.params if "--input" in p.opts).type
    assert list(choice.choices) == list(INPUTS)
