"""`fxr fit` under torchrun: two CPU processes (Gloo) take the steps one process takes.

The model here is registered by a fake third-party distribution: it has no
batch normalization, whose statistics are per process under DDP, so the two
runs must agree to rounding. It reconstructs too, so both training stages
(pretrain, then the head on a frozen encoder) run distributed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.training.batches import Batches
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit
from fxregistry.training.runs import RunBundle

TINY_MODEL = """
    import torch
    from torch import nn

    import fxregistry
    from fxregistry import Model


    class Tiny(nn.Module):
        def __init__(self, in_channels, outputs):
            super().__init__()
            self.encoder = nn.Conv2d(1, 4, 3, padding=1)
            self.decoder = nn.Conv2d(4, 1, 3, padding=1)
            self.head = nn.Linear(4, outputs)

        def reconstruct(self, x):
            return self.decoder(torch.relu(self.encoder(x)))

        def forward(self, x):
            return torch.sigmoid(self.head(torch.relu(self.encoder(x)).mean(dim=(2, 3))))


    @fxregistry.hookimpl
    def register_models(register):
        register(Model("tiny", "conv encoder, conv decoder, linear head", Tiny,
                       reconstructs=True, encoder="encoder"))
"""


@pytest.fixture
def tiny_model(fake_distribution):
    files = {"fxr_test_tiny.py": TINY_MODEL}
    return fake_distribution("fxr-test-tiny", {"tiny": "fxr_test_tiny"}, files)


@pytest.fixture(scope="module")
def delay_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "delay.h5"
    config = BuildConfig(effect="delay", source="synth:4", clip_seconds=0.5, max_clips=10)
    build(config, path, workers=1)
    registry.reset()
    return path


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in open(run / "metrics.jsonl")]


def test_each_process_takes_its_share_of_every_global_batch():
    data = list(range(21))
    whole = Batches(data, 8, "cpu", shuffle=True, seed=5).order(2)
    parts = [Batches(data, 8, "cpu", shuffle=True, seed=5, part=(r, 2)).order(2) for r in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == len(whole) == 3
    for batch, a, b in zip(whole, *parts, strict=True):
        assert sorted(torch.cat([a, b]).tolist()) == sorted(batch.tolist())
        assert abs(len(a) - len(b)) <= 1


def test_two_processes_under_torchrun_match_one_process(tiny_model, delay_data, tmp_path):
    options = {"input": "wet", "freeze_encoder": True, "pretrain_epochs": 1, "epochs": 2}
    config = FitConfig(
        model="tiny", data=str(delay_data), batch_size=8, lr=1e-2, device="cpu", **options
    )
    fit(config, tmp_path / "single")

    workdir = tmp_path / "torchrun"
    workdir.mkdir()
    fxr = Path(sys.executable).with_name("fxr")
    env = {**os.environ, "PYTHONPATH": str(tiny_model), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(fxr), "fit", "--model", "tiny", "--data", str(delay_data), "--out", "run",
         "--input", "wet", "--freeze-encoder", "--pretrain-epochs", "1", "--epochs", "2",
         "--batch-size", "8", "--lr", "0.01", "--device", "cpu"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    # One run directory, written once: rank 1 wrote nothing of its own.
    assert [p.name for p in workdir.iterdir()] == ["run"]
    config_json = json.loads((workdir / "run/config.json").read_text())
    assert config_json["processes"] == 2 and config_json["global_batch_size"] == 8
    assert done.stderr.count("fitting tiny") == 1
    assert done.stderr.count("run written to run") == 1

    single, double = metrics(tmp_path / "single"), metrics(workdir / "run")
    assert [(m["stage"], m["epoch"]) for m in double] == [
        ("pretrain", 1), ("head", 1), ("head", 2)
    ]  # fmt: skip
    for a, b in zip(single, double, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["valid_loss"] == pytest.approx(a["valid_loss"], rel=1e-4, abs=1e-6)
    a = RunBundle.load(tmp_path / "single").state_dict
    b = RunBundle.load(workdir / "run").state_dict
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5)


def test_a_half_set_torchrun_environment_is_one_clear_line(delay_data, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    args = ["fit", "--model", "cnn", "--data", str(delay_data), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "RANK or LOCAL_RANK is not" in result.output
    assert not (tmp_path / "run").exists()
