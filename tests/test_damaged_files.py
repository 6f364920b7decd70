"""Damaged datasets and runs are refused where they are opened: one line, exit 2, nothing left.

Every damaged file here is real, written by the test from a tiny dataset and
run: a dataset whose inner structure disagrees with its header, truncated,
foreign or empty files, run directories with a broken bundle, config or
checkpoint, and a full disk (injected at the write: tests run as root, where
file modes do not stop writes).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.io import SAMPLE_RATE, write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.errors import FxrError
from fxregistry.files import append_text
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit

LEGACY = Path(__file__).parent / "data" / "legacy"
TINY_MODEL = ["--model", "cnn", "--hparam", "channels=[4,8]", "--hparam", "hidden=8"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_refused(result, *fragments: str) -> None:
    """Exit 2 with one error line holding every fragment, and no traceback.

    The error is the last line on stderr (a fit that got going has logged its epochs before).
    """
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    errors = [line for line in lines if line.startswith("fxr:")]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr
    assert errors[0].startswith("fxr: error: "), result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """24 delay examples of three 0.25 s synth clips."""
    path = tmp_path_factory.mktemp("data") / "delay.h5"
    build(BuildConfig(effect="delay", source="synth:3", clip_seconds=0.25, max_clips=3), path)
    registry.reset()
    return path


def tiny_config(data, **options) -> FitConfig:
    hparams = {"channels": [4, 8], "hidden": 8}
    defaults = {"epochs": 1, "batch_size": 8, "device": "cpu", "hyperparameters": hparams}
    return FitConfig(model="cnn", data=str(data), **{**defaults, **options})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "delay-cnn"
    fit(tiny_config(dataset), run_dir)
    registry.reset()
    return run_dir


@pytest.fixture
def wet(tmp_path) -> Path:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    audio = (0.5 * np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t)).astype(np.float32)
    return write_audio(tmp_path / "wet.wav", audio, SAMPLE_RATE)


# ---------------------------------------------------------------- damaged datasets


def _attributes_only(f: h5py.File, original: Path) -> None:
    for name in list(f):
        del f[name]


def _wet_deleted(f: h5py.File, original: Path) -> None:
    del f["examples/wet_mel"]


def _wet_shortened(f: h5py.File, original: Path) -> None:
    rows = f["examples/wet_mel"][:5]
    del f["examples/wet_mel"]
    f["examples/wet_mel"] = rows


def _wet_of_other_frames(f: h5py.File, original: Path) -> None:
    rows = f["examples/wet_mel"][:, :, :-2]
    del f["examples/wet_mel"]
    f["examples/wet_mel"] = rows


def _group_short(f: h5py.File, original: Path) -> None:
    del f["recordings/group"]
    f["recordings/group"] = ["only one"]


def _clip_out_of_range(f: h5py.File, original: Path) -> None:
    f["examples/clip"][3] = 99


def _features_not_json(f: h5py.File, original: Path) -> None:
    f.attrs["features"] = '{"mel": '


# name -> (how to damage a copy, what the one line says)
DAMAGED = {
    "attributes only": (_attributes_only, "no recordings/id dataset"),
    "wet deleted": (_wet_deleted, "no examples/wet_mel dataset"),
    "wet shortened": (_wet_shortened, "examples/wet_mel has 5 rows, the header says 24"),
    "wet of other frames": (_wet_of_other_frames, "examples/wet_mel has rows of shape"),
    "a group short": (_group_short, "recordings/group has 1 rows, recordings/id has 3"),
    "clip out of range": (_clip_out_of_range, "examples/clip points at row 99 of clips"),
    "features not JSON": (_features_not_json, "features attribute is unreadable"),
    "truncated": (None, "truncated"),
    "foreign HDF5": (None, "not an fxr dataset"),
    "zero-length": (None, "not an HDF5 file"),
}


@pytest.fixture(params=list(DAMAGED))
def damaged(request, dataset, tmp_path) -> tuple[Path, str]:
    """A damaged copy of ``dataset`` and a fragment of the line that refuses it."""
    damage, message = DAMAGED[request.param]
    path = tmp_path / "damaged.h5"
    if request.param == "truncated":
        data = dataset.read_bytes()
        path.write_bytes(data[: len(data) * 3 // 4])
    elif request.param == "foreign HDF5":
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
    elif request.param == "zero-length":
        path.write_bytes(b"")
    else:
        shutil.copyfile(dataset, path)
        with h5py.File(path, "r+") as f:
            damage(f, dataset)
    return path, message


def test_inspect_refuses_a_damaged_dataset(damaged):
    path, message = damaged
    assert_refused(run("inspect", path), str(path), message)


def test_fit_refuses_a_damaged_dataset_and_leaves_no_run(damaged, tmp_path):
    path, message = damaged
    result = run("fit", *TINY_MODEL, "--data", path, "--out", tmp_path / "runs" / "x")
    assert_refused(result, str(path), message)
    assert not (tmp_path / "runs").exists()


def test_evaluate_refuses_a_damaged_dataset(damaged, trained, tmp_path):
    path, message = damaged
    run_dir = shutil.copytree(trained, tmp_path / "run")
    assert_refused(run("evaluate", run_dir, "--data", path, "--device", "cpu"), message)
    assert not (run_dir / "eval.json").exists()


def test_a_whole_dataset_and_the_legacy_one_pass(dataset):
    for path in (dataset, LEGACY / "dataset.h5"):
        assert run("inspect", path).exit_code == 0


# ---------------------------------------------------------------- a fit that fails early


def test_a_fit_failing_before_its_first_checkpoint_removes_what_it_made(
    dataset, tmp_path, monkeypatch
):
    def fail(*args, **kwargs):
        raise FxrError("the step failed")

    monkeypatch.setattr("fxregistry.training.trainer.Trainer._step", fail)
    with pytest.raises(FxrError, match="the step failed"):
        fit(tiny_config(dataset), tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists()  # made by the fit: gone whole
    kept = tmp_path / "kept"
    kept.mkdir()  # an empty folder that was there before: kept, and empty
    with pytest.raises(FxrError, match="the step failed"):
        fit(tiny_config(dataset), kept)
    assert kept.is_dir() and list(kept.iterdir()) == []


def test_a_full_disk_at_a_checkpoint_is_one_line_naming_it_and_leaves_no_partial(
    dataset, tmp_path, monkeypatch
):
    save, saves = torch.save, {"n": 0}

    def full_at_second_checkpoint(obj, f, *args, **kwargs):
        if str(getattr(f, "name", "")).endswith("checkpoint.pt.partial"):
            saves["n"] += 1
            if saves["n"] == 2:
                f.write(b"PK\x03\x04 half a checkpoint")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_at_second_checkpoint)
    out = tmp_path / "run"
    result = run("fit", *TINY_MODEL, "--data", dataset, "--out", out, "--epochs", "2")
    assert_refused(result, str(out / "checkpoint.pt"), "No space left on device")
    assert not list(tmp_path.rglob("*partial*"))
    # The first epoch's checkpoint is whole: the run resumes once there is room.
    monkeypatch.setattr(torch, "save", save)
    assert run("fit", "--model", "cnn", "--resume", "--out", out).exit_code == 0
    assert (out / "model.pt").exists()


def test_a_full_disk_at_the_first_checkpoint_leaves_no_run(dataset, tmp_path, monkeypatch):
    save = torch.save

    def full(obj, f, *args, **kwargs):
        if str(getattr(f, "name", "")).endswith("checkpoint.pt.partial"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full)
    out = tmp_path / "runs" / "x"
    result = run("fit", *TINY_MODEL, "--data", dataset, "--out", out)
    assert_refused(result, "checkpoint.pt", "No space left on device")
    assert not (tmp_path / "runs").exists()


def test_a_read_only_run_directory_at_evaluate_is_one_line(trained, tmp_path, monkeypatch):
    run_dir = shutil.copytree(trained, tmp_path / "run")
    rename = os.replace

    def read_only(src, dst):
        if Path(dst).name == "eval.json":  # as os.replace fails in a read-only folder
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(src), None, str(dst))
        return rename(src, dst)

    monkeypatch.setattr(os, "replace", read_only)
    result = run("evaluate", run_dir, "--device", "cpu")
    assert_refused(result, str(run_dir / "eval.json"), "Read-only file system")
    assert not list(run_dir.glob("*partial*"))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_an_append_to_a_full_device_is_one_error_naming_it():
    with pytest.raises(FxrError, match="/dev/full: cannot be written .No space left on device"):
        append_text("/dev/full", '{"stage": "train", "epoch": 1}\n')


# ---------------------------------------------------------------- runs from any folder


def test_a_run_records_its_dataset_absolutely_and_evaluates_from_any_folder(
    dataset, tmp_path, monkeypatch
):
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    shutil.copyfile(dataset, work / "data" / "delay.h5")
    monkeypatch.chdir(work)
    fit(tiny_config("data/delay.h5"), "runs/x")  # a relative --data, as people type it
    config = json.loads((work / "runs/x/config.json").read_text())
    assert config["fit"]["data"] == config["data"]["path"] == str(work / "data" / "delay.h5")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("evaluate", work / "runs" / "x", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"] == str(work / "data" / "delay.h5")

    (work / "data" / "delay.h5").rename(work / "moved.h5")
    assert_refused(
        run("evaluate", work / "runs" / "x", "--device", "cpu"),
        str(work / "data" / "delay.h5"),
        "pass --data FILE",
    )
    assert_refused(
        run("fit", "--model", "cnn", "--resume", "--out", work / "runs" / "x"),
        "pass --data FILE",
    )
    moved = run("evaluate", work / "runs" / "x", "--data", work / "moved.h5", "--device", "cpu")
    assert moved.exit_code == 0, moved.output


def test_an_old_run_finds_its_relative_dataset_beside_its_folder(tmp_path, monkeypatch):
    # The legacy run recorded "dataset.h5", relative to where it was fitted: beside the run.
    shutil.copytree(LEGACY / "run", tmp_path / "old" / "run")
    shutil.copyfile(LEGACY / "dataset.h5", tmp_path / "old" / "dataset.h5")
    monkeypatch.chdir(tmp_path)
    result = run("evaluate", tmp_path / "old" / "run", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"] == str(tmp_path / "old" / "dataset.h5")


# ---------------------------------------------------------------- damaged runs


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:3000])


DAMAGED_RUNS = {
    "model.pt missing": ("model.pt", Path.unlink, "model.pt: no such file"),
    "model.pt truncated": ("model.pt", _truncate, "model.pt: not a readable fxr model"),
    "config.json not JSON": (
        "config.json",
        lambda p: p.write_text('{"fit": '),
        "config.json: damaged",
    ),
    "checkpoint.pt truncated": ("checkpoint.pt", _truncate, "checkpoint.pt: not a readable"),
}


# command -> the run files it reads
READS = {
    "evaluate": ("model.pt", "config.json"),
    "estimate": ("model.pt", "config.json"),
    "fit --resume": ("config.json", "checkpoint.pt"),
}


@pytest.mark.parametrize(
    "command, damage",
    [
        (c, d)
        for c, files in READS.items()
        for d, (name, *_) in DAMAGED_RUNS.items()
        if name in files
    ],
)
def test_a_damaged_run_is_refused_in_one_line(command, damage, trained, wet, tmp_path):
    name, spoil, message = DAMAGED_RUNS[damage]
    run_dir = shutil.copytree(trained, tmp_path / "run")
    spoil(run_dir / name)
    args = {
        "evaluate": ["evaluate", run_dir, "--device", "cpu"],
        "estimate": ["estimate", run_dir, wet, "--device", "cpu"],
        "fit --resume": ["fit", "--model", "cnn", "--resume", "--out", run_dir],
    }[command]
    assert_refused(run(*args), message)
