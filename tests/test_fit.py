"""`fxr fit`: every registered model, the training stages, the run directory.

Datasets here are tiny (half-second clips, a few dozen examples) so that a
few epochs take seconds.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import h5py
import pytest
import torch
from click.testing import CliRunner

from fxregistry import Model, registry
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.errors import FxrError
from fxregistry.training.batches import Batches, Normalization, load_split, open_split
from fxregistry.training.config import FitConfig
from fxregistry.training.device import autocast, grad_scaler, mixed_precision, select_device
from fxregistry.training.fit import fit
from fxregistry.training.runs import BUNDLE_VERSION, RunBundle

MODELS = sorted(registry.registrations("model"))
LEGACY_RUN = Path(__file__).parent / "data" / "legacy" / "run"  # written before the redesign


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """A tiny dataset per effect used here: 0.5 s clips of four synth takes."""
    folder = tmp_path_factory.mktemp("data")
    made = {}
    for effect in ("delay", "bitcrusher"):
        config = BuildConfig(effect=effect, source="synth:4", clip_seconds=0.5, max_clips=10)
        build(config, folder / f"{effect}.h5", workers=1)
        made[effect] = folder / f"{effect}.h5"
    registry.reset()
    return made


def quick(model: str, data, **options) -> FitConfig:
    defaults = {"epochs": 2, "batch_size": 8, "lr": 1e-3, "device": "cpu"}
    return FitConfig(model=model, data=str(data), **{**defaults, **options})


def weights(path) -> dict[str, torch.Tensor]:
    return RunBundle.load(path).state_dict


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("in_channels", [1, 2])
@pytest.mark.parametrize("outputs", [1, 3])
def test_every_model_maps_spectrograms_to_one_value_in_0_1_per_parameter(
    name, in_channels, outputs
):
    spec = registry.get_model(name)
    model = spec.build(in_channels, outputs).eval()
    for bins, frames in [(128, 173), (128, 44), (513, 21)]:
        x = torch.rand(3, in_channels, bins, frames)
        with torch.no_grad():
            y = model(x)
        assert y.shape == (3, outputs)
        assert torch.all((y >= 0) & (y <= 1))


@pytest.mark.parametrize("name", [n for n in MODELS if registry.get_model(n).reconstructs])
def test_reconstructing_models_map_wet_to_a_spectrogram_of_the_same_shape(name):
    spec = registry.get_model(name)
    model = spec.build(2, 1).eval()
    assert isinstance(getattr(model, spec.encoder), torch.nn.Module)
    for shape in [(2, 1, 128, 173), (2, 1, 128, 44)]:
        with torch.no_grad():
            assert model.reconstruct(torch.rand(shape)).shape == shape


def test_unknown_hyperparameters_are_named_with_the_known_ones():
    with pytest.raises(FxrError, match="no hyperparameter depth.*known: channels"):
        registry.get_model("cnn").build(2, 1, depth=3)


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("name", MODELS)
def test_a_few_epochs_reduce_the_training_loss(name, datasets, tmp_path):
    fit(quick(name, datasets["bitcrusher"], epochs=4), tmp_path / "run")
    losses = [json.loads(line)["train_loss"] for line in open(tmp_path / "run/metrics.jsonl")]
    assert len(losses) == 4
    assert losses[-1] < losses[0]


def test_the_run_directory_holds_what_the_contract_lists(datasets, tmp_path):
    run_dir = tmp_path / "run"
    fit(quick("cnn", datasets["delay"], input="wet", normalization="minmax"), run_dir)
    for name in ("config.json", "model.pt", "best.pt", "metrics.jsonl", "loss.png"):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["fit"]["model"] == "cnn" and config["effect"] == "delay"
    assert config["normalization"]["kind"] == "minmax"
    rows = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("train_loss", "valid_loss", "lr", "seconds", "samples_per_s"):
        assert all(r[key] is not None for r in rows), key
    assert rows[0]["lr"] == pytest.approx(1e-3)
    # The bundle alone rebuilds the model: estimate needs nothing else.
    bundle = RunBundle.load(run_dir)
    assert bundle.input == "wet" and bundle.effect_spec["name"] == "delay"
    assert bundle.features.n_mels == 128
    model = bundle.create_model()
    assert model(torch.rand(1, 1, 128, 44)).shape == (1, 1)


@pytest.mark.parametrize("name", MODELS)
def test_without_lr_a_fit_trains_at_the_models_own_rate_and_records_it(name, datasets, tmp_path):
    fit(quick(name, datasets["delay"], epochs=1, lr=None), tmp_path / "run")
    own = registry.get_model(name).lr
    assert json.loads((tmp_path / "run/config.json").read_text())["fit"]["lr"] == own
    assert json.loads(open(tmp_path / "run/metrics.jsonl").readline())["lr"] == own


@pytest.mark.parametrize("lr", [0.0, -1e-3, float("nan")])
def test_a_model_cannot_declare_a_learning_rate_that_does_not_train(lr):
    with pytest.raises(ValueError, match="lr must be above 0"):
        Model("bad", "a model with a bad rate", create=lambda **_: None, lr=lr)


def test_the_same_seed_gives_the_same_weights(datasets, tmp_path):
    for name in ("a", "b"):
        fit(quick("cnn", datasets["delay"], seed=3), tmp_path / name)
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)
    fit(quick("cnn", datasets["delay"], seed=4), tmp_path / "c")
    assert not all(torch.equal(a[k], v) for k, v in weights(tmp_path / "c").items())


def test_freeze_encoder_pretrains_then_trains_only_the_head(datasets, tmp_path):
    pretrained = tmp_path / "pretrained"
    fit(quick("unet", datasets["delay"], freeze_encoder=True, epochs=1), pretrained)
    stages = [json.loads(line)["stage"] for line in open(pretrained / "metrics.jsonl")]
    assert stages == ["pretrain", "head"]

    # --init: the encoder comes from the other run and stays exactly as it was.
    fit(
        quick("unet", datasets["bitcrusher"], freeze_encoder=True, init=str(pretrained)),
        tmp_path / "head",
    )
    before, after = weights(pretrained), weights(tmp_path / "head")
    encoder = [k for k in after if k.startswith("encoder.")]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)
    # ... while the head learned (it started from the seed's weights, not the other run's).
    torch.manual_seed(0)
    fresh = registry.get_model("unet").build(2, 1).state_dict()
    head = [k for k in after if k.startswith("head.")]
    assert head and not all(torch.equal(fresh[k], after[k]) for k in head)


def test_resume_after_an_interruption_ends_where_an_uninterrupted_run_does(
    datasets, tmp_path, monkeypatch
):
    config = quick("cnn", datasets["delay"], epochs=3)
    fit(config, tmp_path / "whole")

    calls = {"n": 0}
    original = torch.nn.functional.l1_loss

    def interrupt_at_step_7(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # Ctrl-C in the middle of a step
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr("fxregistry.training.trainer.F.l1_loss", interrupt_at_step_7)
    report = fit(config, tmp_path / "cut")
    assert report.interrupted and not (tmp_path / "cut/model.pt").exists()
    monkeypatch.undo()

    fit(config, tmp_path / "cut", resume=True)
    whole, resumed = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    rows = [json.loads(line) for line in open(tmp_path / "cut/metrics.jsonl")]
    assert [r["epoch"] for r in rows] == [1, 2, 3]


# ---------------------------------------------------------------- run bundles


def test_a_run_bundle_round_trips_through_save_and_load_with_the_same_keys(tmp_path):
    stored = torch.load(LEGACY_RUN / "model.pt", weights_only=True)
    bundle = RunBundle.load(LEGACY_RUN)
    assert list(bundle.to_dict()) == list(stored)
    bundle.save(tmp_path / "again.pt")
    again = torch.load(tmp_path / "again.pt", weights_only=True)
    assert list(again) == list(stored)
    for key, value in stored.items():
        if key == "state_dict":
            assert list(again[key]) == list(value)
            assert all(torch.equal(again[key][k], v) for k, v in value.items())
        else:
            assert again[key] == value, key
    # Keys of a later fxr survive a load and a save.
    newer = RunBundle.from_dict({**stored, "calibration": [0.5]})
    assert newer.to_dict()["calibration"] == [0.5]
    assert (newer.effect.name, newer.features.n_mels) == ("delay", 128)


def test_model_pt_and_best_pt_hold_the_bundle_keys_of_before(datasets, tmp_path):
    fit(quick("cnn", datasets["delay"], epochs=1), tmp_path / "run")
    keys = list(torch.load(LEGACY_RUN / "model.pt", weights_only=True))
    assert list(torch.load(tmp_path / "run/model.pt", weights_only=True)) == keys
    best = torch.load(tmp_path / "run/best.pt", weights_only=True)  # plain types only
    assert list(best) == [*keys, "stage", "epoch", "valid_loss"]
    assert best["stage"] == "train" and best["epoch"] == 1
    assert RunBundle.load(tmp_path / "run", "best.pt").valid_loss == best["valid_loss"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format": "something-else"}, "not an fxr model bundle"),
        ({"format_version": BUNDLE_VERSION + 1}, "this fxr reads"),
    ],
)
def test_what_is_not_a_bundle_this_fxr_reads_is_refused_by_name(change, message, tmp_path):
    stored = torch.load(LEGACY_RUN / "model.pt", weights_only=True)
    torch.save({**stored, **change}, tmp_path / "model.pt")
    with pytest.raises(FxrError, match=f"model.pt: .*{message}"):
        RunBundle.load(tmp_path)


# ---------------------------------------------------------------- data


def test_streamed_and_in_memory_splits_hold_the_same_examples(datasets):
    path = datasets["delay"]
    memory = load_split(path, "train", "mel")
    streamed = open_split(path, "train", "mel", in_memory=False)
    rows = [5, 0, 3]
    wet, dry, _, targets = streamed[rows]
    order = sorted(rows)  # a streamed batch comes back in file order
    assert torch.equal(wet, memory.wet[order])
    assert torch.equal(dry, memory.dry[memory.clip[order]])
    assert torch.equal(targets, memory.targets[order])
    with h5py.File(path) as f:
        assert len(memory) == int(json.loads(f.attrs["examples_split_ranges"])["train"][1])


def test_batches_follow_the_seed_and_epoch_and_resume_by_skipping():
    split = type("Split", (), {"__len__": lambda self: 10})()
    batches = Batches(split, 4, torch.device("cpu"), shuffle=True, seed=1)
    assert len(batches) == 3
    first = batches.order(0)
    assert torch.equal(torch.cat(first).sort().values, torch.arange(10))
    assert all(torch.equal(a, b) for a, b in zip(first, batches.order(0), strict=True))
    assert not torch.equal(torch.cat(first), torch.cat(batches.order(1)))


def test_normalizations_fixed_keeps_level_and_minmax_erases_it():
    quiet = torch.full((1, 4, 4), -60.0)
    quiet[0, 0, 0] = -30.0
    loud = quiet + 20
    fixed, minmax = Normalization("fixed"), Normalization("minmax")
    assert torch.all(fixed(loud) > fixed(quiet))
    assert torch.allclose(minmax(loud), minmax(quiet))
    assert minmax(loud).min() == 0 and minmax(loud).max() == pytest.approx(1)
    with pytest.raises(FxrError, match="known: fixed, minmax"):
        Normalization("zscore")


# ---------------------------------------------------------------- devices


def test_auto_device_is_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("fxregistry.training.device._mps_available", lambda: False)
    assert select_device("auto").type == "cpu"
    monkeypatch.setattr("fxregistry.training.device._mps_available", lambda: True)
    assert select_device("auto").type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_device("auto") == torch.device("cuda", 0)
    assert select_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(FxrError, match="there are 2 CUDA devices"):
        select_device("cuda:2")


def test_cuda_uses_mixed_precision_and_the_cpu_does_not(monkeypatch):
    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert mixed_precision(cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert mixed_precision(cuda) == torch.float16  # and with it, loss scaling:
    for device in ("cpu", "mps"):
        assert mixed_precision(torch.device(device)) is None
        assert not isinstance(autocast(torch.device(device)), torch.autocast)
        assert not grad_scaler(torch.device(device)).is_enabled()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_absent_cuda_is_a_clear_error(datasets, tmp_path):
    result = run("fit", "--model", "cnn", "--data", datasets["delay"], "--device", "cuda")
    assert result.exit_code == 2
    assert "CUDA is not available" in result.stderr


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "cnn", "--data", "missing.h5"], "no such file"),
        (["--model", "cnnn", "--data", "x.h5"], "did you mean 'cnn'"),
        (["--model", "cnn", "--data", "{not_dataset}"], "not an fxr dataset"),
        (["--model", "cnn", "--data", "{delay}", "--freeze-encoder"], "no encoder"),
        (["--model", "cnn", "--data", "{delay}", "--epochs", "0"], "epochs must be"),
        (["--model", "cnn", "--data", "{delay}", "--hparam", "width"], "KEY=VALUE"),
        (["--model", "unet", "--data", "{delay}", "--init", "nowhere"], "no such file"),
        (["--model", "cnn"], "--data FILE is needed"),
        (["--model", "cnn", "--resume"], "--resume needs --out"),
    ],
)
def test_bad_fit_input_is_one_clear_line_and_exit_2(args, message, datasets, tmp_path):
    not_dataset = tmp_path / "notes.h5"
    not_dataset.write_text("hello")
    args = [a.format(delay=datasets["delay"], not_dataset=not_dataset) for a in args]
    if "--resume" not in args:
        args += ["--out", tmp_path / "run"]
    result = run("fit", *args, "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_an_existing_run_is_kept_unless_resume_or_force(datasets, tmp_path):
    args = ["fit", "--model", "cnn", "--data", datasets["delay"], "--out", tmp_path / "run"]
    args += ["--epochs", "1", "--device", "cpu"]
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 2 and "--resume" in again.stderr
    assert run(*args, "--force").exit_code == 0


def test_fit_without_a_model_trains_the_best_measured_one(datasets, tmp_path):
    from fxregistry.training.config import DEFAULT_MODEL

    run_dir = tmp_path / "run"
    args = ["--data", datasets["delay"], "--out", run_dir, "--epochs", "1", "--device", "cpu"]
    result = run("fit", *args, "--hparam", "channels=[4,8]", "--hparam", "hidden=8")
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "config.json").read_text())["fit"]["model"] == DEFAULT_MODEL
    assert (run_dir / "model.pt").exists()
