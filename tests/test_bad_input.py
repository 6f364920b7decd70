"""The bad-input suite: every command against every kind of bad input, as tables.

Each command has a table of rows ``(arguments, exit status, message fragment[,
fault])`` run through the real command line (CliRunner) on real files that
the ``files`` fixture writes once: non-finite, zero-length, truncated and
foreign audio; foreign, truncated, hollow and unfinished datasets; damaged
runs and a run whose dataset has gone. A ``fault`` is injected where every
write ends, the rename in ``atomic_write``: ``ENOSPC``/``EROFS`` stand for a
full or read-only destination (tests run as root, where file modes stop
nothing), ``CTRL-C`` for an interrupt at the worst moment. Every row asserts
the exit status (2, or 130 for an interrupt), exactly one line on stderr,
``fxr: error: ...`` (or ``fxr: interrupted``) holding the fragment, no
traceback, and no ``.partial`` file left anywhere.

Two tests keep the tables whole: every registered command has one, and every
option of a command appears in a row of its table (or in ``EXEMPT``, with the
reason), so a new command or option cannot skip the suite. The module is over
400 lines because the tables are: one line per bad input.

The kinds of issue 12 and their rows: non-finite audio, ``AUDIO`` (render,
estimate, build --source); a dataset's inner structure, ``DATASETS`` and
``SHARDS`` (inspect, merge, fit, evaluate) and the damaged runs; environment
errors, the ENOSPC/EROFS rows and the ``{tmp}``/``{notdir}`` destinations;
values nobody checks, the option rows of render, build, fit and evaluate;
interruptions, the CTRL-C rows (real signals: tests/test_signals.py); runs
that work from one folder, ``evaluate {run}``; usage errors, ``usage_rows``,
``json_rows`` and ``GROUP``.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
from pathlib import Path
from typing import NamedTuple

import click
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.io import write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit

from .conftest import tone_take
from .test_audio_input import float_wav  # any values, NaN too (write_audio refuses NaN)

TINY = dict(source="synth:3", clip_seconds=0.25, max_clips=3)
TINY_MODEL = {"channels": [4, 8], "hidden": 8}
FIT = "--model cnn --data {data} --out {tmp}/r --device cpu --epochs 1 --hparam hidden=8"
ESTIMATE = "{run} {dry} --dry {dry} --device cpu"
EVALUATE = "{run} --data {data} --device cpu"
QUICK_BUILD = "--effect delay --source synth:1 --max-clips 1 --clip-seconds 0.25 --workers 1"


class Row(NamedTuple):
    args: str  # after the command's name; {name} is a file of the fixture, {tmp} the test's folder
    status: int
    fragment: str
    fault: str | None = None  # ENOSPC, EROFS or CTRL-C at the final rename of a write


def usage_rows(*valid: str, extra: str = "unexpected extra argument") -> list[Row]:
    """Click's own errors, for a command whose valid arguments are ``valid``."""
    return [
        Row(f"{' '.join(valid)} --no-such-option", 2, "no such option '--no-such-option'"),
        Row(f"{' '.join(valid)} extra words", 2, extra),
    ]


def json_rows(*valid: str) -> list[Row]:
    return [Row(f"{' '.join(valid)} --json=yes", 2, "'--json' does not take a value")]


CATALOG = [*usage_rows(), *json_rows()]
AUDIO = [  # (file, fragment) for every command that reads audio
    ("{nan}", "nan.wav"),
    ("{inf}", "inf.wav"),
    ("{empty}", "empty.wav"),
    ("{zero}", "zero.wav"),
    ("{truncated}", "truncated.wav"),
    ("{foreign}", "foreign.wav"),
    ("{missing}.wav", "missing.wav"),
]
DATASETS = [  # (file, fragment) for every command that reads a dataset
    ("{missing}.h5", "missing.h5"),
    ("{zero_h5}", "zero.h5"),
    ("{foreign_h5}", "foreign.h5"),
    ("{truncated_h5}", "truncated.h5"),
    ("{hollow}", "hollow.h5"),
    ("{no_wet}", "wet_mel"),
    ("{short_wet}", "wet_mel"),
    ("{unfinished}", "did not finish"),
    ("{tmp}", "not a file"),
]
# merge reads a shard's header first: a damaged dataset that is no shard is "not a shard"
SHARDS = [(file.replace("wet}", "wet_shard}"), frag) for file, frag in DATASETS]
RENDER = "--effect delay --set delay_seconds=0.1"

TABLE: dict[str, list[Row]] = {
    "list-effects": CATALOG,
    "list-sources": CATALOG,
    "list-models": CATALOG,
    "list-estimators": CATALOG,
    "plugins": CATALOG,
    "render": [
        *usage_rows(RENDER, "{dry}", "{tmp}/o.wav"),
        Row(f"{RENDER} {{dry}}", 2, "missing argument 'OUT'"),
        Row("{dry} {tmp}/o.wav", 2, "missing option '--effect'"),
        Row("--effect limitr --set threshold_db=0 {dry} {tmp}/o.wav", 2, "did you mean 'limiter'"),
        Row("--effect delay --set delay_seconds=abc {dry} {tmp}/o.wav", 2, "'abc' is not a number"),
        Row("--effect delay --set delay_seconds=nan {dry} {tmp}/o.wav", 2, "'nan' is not a finite"),
        Row("--effect delay --set delay_seconds=-inf {dry} {tmp}/o.wav", 2, "'-inf' is not a fin"),
        Row("--effect delay --set delay_seconds {dry} {tmp}/o.wav", 2, "is not NAME=VALUE"),
        Row("--effect delay --set delay_seconds=2 {dry} {tmp}/o.wav", 2, "outside its range"),
        Row("--effect delay --set speed=1 {dry} {tmp}/o.wav", 2, "speed"),
        *[Row(f"{RENDER} {file} {{tmp}}/o.wav", 2, fragment) for file, fragment in AUDIO],
        Row(f"{RENDER} {{dry}} {{tmp}}", 2, "is a directory"),
        Row(f"{RENDER} {{dry}} {{tmp}}/o.xyz", 2, ".xyz"),
        Row(f"{RENDER} {{dry}} {{notdir}}/o.wav", 2, "notdir"),
        Row(f"{RENDER} {{dry}} {{tmp}}/o.wav", 2, "o.wav", "ENOSPC"),
        Row(f"{RENDER} {{dry}} {{tmp}}/o.wav", 2, "o.wav", "EROFS"),
        Row(f"{RENDER} {{dry}} {{tmp}}/o.wav", 130, "fxr: interrupted", "CTRL-C"),
    ],
    "build": [
        *usage_rows("--effect delay"),
        Row("--source synth:1", 2, "missing option '--effect'"),
        Row("--effect delai", 2, "did you mean 'delay'"),
        Row("--effect delay --source nowhere:x", 2, "nowhere"),
        Row("--effect delay --source {bad_folder} --strict --workers 1", 2, "nan.wav"),
        Row("--recipe {missing}.toml", 2, "missing.toml"),
        Row("--recipe {bad_recipe}", 2, "bad.toml"),
        Row("--effect delay --grid random:0", 2, "--grid"),
        Row("--effect delay --clip-seconds inf", 2, "--clip-seconds must be a finite number"),
        Row("--effect delay --clip-seconds nan", 2, "--clip-seconds must be a finite number"),
        Row("--effect delay --clip-seconds 0", 2, "--clip-seconds must be above 0"),
        Row("--effect delay --seed -1", 2, "--seed must be at least 0"),
        Row("--effect delay --seed abc", 2, "'--seed'"),
        Row("--effect delay --max-clips 0", 2, "--max-clips must be at least 1"),
        Row("--effect delay --min-level-db nan", 2, "--min-level-db must be a finite number"),
        Row("--effect delay --min-level-db -inf", 2, "--min-level-db must be a finite number"),
        Row("--effect delay --level peak:nan", 2, "--level"),
        Row("--effect delay --level loud", 2, "--level"),
        Row("--effect delay --augment roomy", 2, "--augment must be"),
        Row("--effect delay --augment room,room", 2, "--augment must be"),
        Row("--effect delay --features wav", 2, "--features"),
        Row("--effect delay --deliver mp3:2", 2, "--deliver mp3"),
        Row("--effect sample-rate --variants 2", 2, "--variants"),
        Row("--effect delay --keep-audio=yes", 2, "'--keep-audio' does not take a value"),
        Row("--effect delay --residual=yes", 2, "'--residual' does not take a value"),
        Row("--effect delay --identify=yes", 2, "'--identify' does not take a value"),
        Row("--effect delay --split 80/20", 2, "--split '80/20'"),
        Row("--effect delay --split nan/10/10", 2, "--split 'nan/10/10'"),
        Row("--effect delay --split-by player2", 2, "'--split-by'"),
        Row("--effect delay --strict=yes", 2, "'--strict' does not take a value"),
        Row("--effect delay --compress=yes", 2, "'--compress' does not take a value"),
        Row("--effect delay --shard 3/2", 2, "--shard"),
        Row("--effect delay --shard x", 2, "--shard"),
        Row("--effect delay --workers -4", 2, "'--workers'"),
        Row("--effect delay --workers 0", 2, "'--workers'"),
        Row("--effect delay --force=yes", 2, "'--force' does not take a value"),
        Row("--effect delay --out {tmp}", 2, "is a directory"),
        Row("--effect delay --out {data}", 2, "--force"),
        Row(f"{QUICK_BUILD} --out {{notdir}}/d.h5", 2, "notdir"),
        Row(f"{QUICK_BUILD} --out {{tmp}}/d.h5", 2, "d.h5", "ENOSPC"),
        Row(f"{QUICK_BUILD} --out {{tmp}}/d.h5", 2, "d.h5", "EROFS"),
        Row(f"{QUICK_BUILD} --out {{tmp}}/d.h5", 130, "fxr: interrupted", "CTRL-C"),
    ],
    "inspect": [
        *usage_rows("{data}"),
        *json_rows("{data}"),
        Row("", 2, "missing argument 'PATH'"),
        Row("{dry}", 2, "dry.wav"),
        *[Row(file, 2, fragment) for file, fragment in DATASETS],
    ],
    "merge": [
        *usage_rows("{tmp}/m.h5", "{shard1}", "{shard2}", extra="extra: no such file"),
        Row("{tmp}/m.h5", 2, "missing argument 'SHARDS...'"),
        Row("{tmp}/m.h5 {shard1}", 2, "shard"),
        Row("{tmp}/m.h5 {shard1} {shard1}", 2, "shard"),
        Row("{tmp}/m.h5 {data} {shard1}", 2, "data.h5"),
        *[Row(f"{{tmp}}/m.h5 {file} {{shard2}}", 2, fragment) for file, fragment in SHARDS],
        Row("{data} {shard1} {shard2}", 2, "--force"),
        Row("{tmp} {shard1} {shard2}", 2, "is a directory"),
        Row("{notdir}/m.h5 {shard1} {shard2}", 2, "notdir"),
        Row("{tmp}/m.h5 {shard1} {shard2} --copy=yes", 2, "'--copy' does not take a value"),
        Row("{tmp}/m.h5 {shard1} {shard2} --force=yes", 2, "'--force' does not take a value"),
        Row("{tmp}/m.h5 {shard1} {shard2}", 2, "m.h5", "ENOSPC"),
        Row("{tmp}/m.h5 {shard1} {shard2} --copy", 2, "m.h5", "EROFS"),
        Row("{tmp}/m.h5 {shard1} {shard2}", 130, "fxr: interrupted", "CTRL-C"),
    ],
    "fit": [
        *usage_rows(FIT),
        Row("--data {data} --out {tmp}/r --epochs 0", 2, "--epochs must be at least 1"),
        Row("--model cnn", 2, "--data FILE is needed"),
        Row("--model cnnn --data {data}", 2, "did you mean 'cnn'"),
        *[Row(f"--model cnn --data {file} --out {{tmp}}/r", 2, frag) for file, frag in DATASETS],
        Row(f"{FIT} --input nope", 2, "'--input'"),
        Row(f"{FIT} --input pair+residual", 2, "residual"),
        Row(f"{FIT} --freeze-encoder", 2, "encoder"),
        Row(f"{FIT} --freeze-encoder=yes", 2, "'--freeze-encoder' does not take a value"),
        Row(f"{FIT} --init {{run}}", 2, "no encoder"),
        Row("--model unet --data {data} --out {tmp}/r --init {missing}", 2, "missing"),
        Row("--model unet --data {data} --out {tmp}/r --init {foreign_h5}", 2, "foreign.h5"),
        Row(f"{FIT} --epochs 0", 2, "--epochs must be at least 1"),
        Row(f"{FIT} --epochs abc", 2, "'--epochs'"),
        Row(f"{FIT} --pretrain-epochs 0", 2, "--pretrain-epochs must be at least 1"),
        Row(f"{FIT} --batch-size 0", 2, "--batch-size must be at least 1"),
        Row(f"{FIT} --lr nan", 2, "--lr must be a finite number"),
        Row(f"{FIT} --lr 0", 2, "--lr must be above 0"),
        Row(f"{FIT} --lr-step 0", 2, "--lr-step must be at least 1"),
        Row(f"{FIT} --lr-gamma -1", 2, "--lr-gamma must be above 0"),
        Row(f"{FIT} --lr-gamma inf", 2, "--lr-gamma must be a finite number"),
        Row(f"{FIT} --normalization nope", 2, "'--normalization'"),
        Row(f"{FIT} --features stft", 2, "stft"),
        Row(f"{FIT} --device nope", 2, "nope"),
        Row(f"{FIT} --seed -1", 2, "--seed must be at least 0"),
        Row(f"{FIT} --workers -1", 2, "--workers must be at least 0"),
        Row(f"{FIT} --hparam channels=[1,2", 2, "--hparam channels: '[1,2' is neither JSON"),
        Row(f"{FIT} --hparam hidden=NaN", 2, "--hparam hidden: NaN is not a finite number"),
        Row(f"{FIT} --hparam hidden=-5", 2, "model 'cnn' cannot be built with hidden=-5"),
        Row(f"{FIT} --hparam channels=abc", 2, "cannot be built with hidden=8, channels='abc'"),
        Row(f"{FIT} --hparam depth=3", 2, "no hyperparameter depth"),
        Row(f"{FIT} --hparam width", 2, "KEY=VALUE"),
        Row("--model cnn --data {data} --out {data}", 2, "is a file"),
        Row("--model cnn --data {data} --out {notdir}/r", 2, "notdir"),
        Row("--model cnn --data {data} --out {run}", 2, "--force"),
        Row("--resume", 2, "--resume needs --out"),
        Row("--resume --out {tmp}/none", 2, "no run to resume"),
        Row("--resume --out {resume_bad_config}", 2, "config.json"),
        Row(f"{FIT} --resume=yes", 2, "'--resume' does not take a value"),
        Row(f"{FIT} --force=yes", 2, "'--force' does not take a value"),
        Row(FIT, 2, "No space left on device", "ENOSPC"),
        Row(FIT, 2, "Read-only file system", "EROFS"),
        Row(FIT, 130, "fxr: interrupted", "CTRL-C"),
    ],
    "evaluate": [
        *usage_rows(EVALUATE),
        *json_rows(EVALUATE),
        Row("", 2, "missing argument 'RUN'"),
        Row("{missing}", 2, "missing"),
        Row("{data}", 2, "data.h5"),
        Row("{run}", 2, "--data FILE"),
        Row("{run_bad_model} --data {data}", 2, "model.pt"),
        Row("{run_bad_config} --data {data}", 2, "config.json"),
        *[Row(f"{{run}} --data {file}", 2, fragment) for file, fragment in DATASETS],
        Row(f"{EVALUATE} --device nope", 2, "nope"),
        Row(f"{EVALUATE} --floor=yes", 2, "'--floor' does not take a value"),
        Row(f"{EVALUATE} --floor --floor-limit 0", 2, "'--floor-limit'"),
        Row(f"{EVALUATE} --checks=no", 2, "'--checks' does not take a value"),
        Row(EVALUATE, 2, "No space left on device", "ENOSPC"),
        Row(EVALUATE, 2, "Read-only file system", "EROFS"),
        Row(EVALUATE, 130, "fxr: interrupted", "CTRL-C"),
    ],
    "estimate": [
        *usage_rows(ESTIMATE),
        *json_rows(ESTIMATE),
        Row("{run}", 2, "give the audio too"),
        Row("{run} {dry} {dry}", 2, "takes [RUN] WET"),
        Row("{dry} --effect nope", 2, "no default estimator of 'nope' settings"),
        # Without a run, the shipped estimators read the audio as a run does.
        *[Row(file, 2, fragment) for file, fragment in AUDIO],
        Row("{run} {dry} --dry {dry} --effect delay", 2, "RUN names its own"),
        Row("{missing} {dry} --dry {dry}", 2, "missing"),
        Row("{run_bad_model} {dry} --dry {dry}", 2, "model.pt"),
        Row("{bad_onnx} {dry}", 2, "not a readable fxr portable model"),
        Row("{tmp}/none.onnx {dry}", 2, "no such model file"),
        Row("{run} {dry}", 2, "--dry"),
        Row("{run} {dry} --refine", 2, "--dry"),
        *[Row(f"{{run}} {file} --dry {{dry}}", 2, fragment) for file, fragment in AUDIO],
        *[Row(f"{{run}} {{dry}} --dry {file}", 2, fragment) for file, fragment in AUDIO[:4]],
        Row(f"{ESTIMATE} --refine=yes", 2, "'--refine' does not take a value"),
        Row(f"{ESTIMATE} --device nope", 2, "nope"),
        Row(f"{ESTIMATE} --render-to {{tmp}}", 2, "folder"),
        Row(f"{ESTIMATE} --render-to {{tmp}}/o.xyz", 2, ".xyz"),
        Row(f"{ESTIMATE} --render-to {{notdir}}/o.wav", 2, "notdir"),
        Row(f"{ESTIMATE} --render-to {{tmp}}/o.wav", 2, "o.wav", "ENOSPC"),
        Row(f"{ESTIMATE} --render-to {{tmp}}/o.wav", 2, "o.wav", "EROFS"),
        Row(f"{ESTIMATE} --render-to {{tmp}}/o.wav", 130, "fxr: interrupted", "CTRL-C"),
    ],
    "export": [
        *usage_rows("{run} {tmp}/m.onnx"),
        Row("", 2, "missing argument 'RUN'"),
        Row("{run}", 2, "missing argument 'OUT'"),
        Row("{missing} {tmp}/m.onnx", 2, "missing"),
        Row("{run_bad_model} {tmp}/m.onnx", 2, "model.pt"),
        Row("{run} {tmp}/m.pt", 2, "must end in .onnx"),
        Row("{run} {notdir}/m.onnx", 2, "notdir"),
        Row("{run} {tmp}/m.onnx", 2, "No space left on device", "ENOSPC"),
        Row("{run} {tmp}/m.onnx", 2, "Read-only file system", "EROFS"),
        Row("{run} {tmp}/m.onnx", 130, "fxr: interrupted", "CTRL-C"),
    ],
}
GROUP = [  # `fxr` itself
    Row("biuld", 2, "unknown command 'biuld' (did you mean 'build'?)"),
    Row("--no-such-option", 2, "no such option"),
    Row("--version=2", 2, "'--version' does not take a value"),
]
# (command, option) -> why no row of the command's table needs it
EXEMPT: dict[tuple[str, str], str] = {}


# ---------------------------------------------------------------- the files


def write_audio_files(root: Path) -> dict[str, Path]:
    take = tone_take(1.0, 44100, seed=3)
    files = {"dry": root / "dry.wav", "notdir": root / "notdir"}
    write_audio(files["dry"], take, 44100)
    files["notdir"].write_text("a file where a folder should be")
    for name, value in (("nan", np.nan), ("inf", np.inf)):
        files[name] = float_wav(root / f"{name}.wav", np.where(take > 0.05, value, take))
    files["empty"] = float_wav(root / "empty.wav", np.zeros(0))
    files["zero"] = root / "zero.wav"
    files["zero"].write_bytes(b"")
    files["truncated"] = root / "truncated.wav"
    files["truncated"].write_bytes(files["dry"].read_bytes()[:3000])
    files["foreign"] = root / "foreign.wav"
    files["foreign"].write_text("not audio, whatever the name says\n" * 40)
    files["bad_folder"] = root / "takes"
    files["bad_folder"].mkdir()
    shutil.copy(files["nan"], files["bad_folder"] / "nan.wav")
    files["bad_recipe"] = root / "bad.toml"
    files["bad_recipe"].write_text("[build\n")
    return files


def write_datasets(root: Path) -> dict[str, Path]:
    """A tiny dataset, two shards, and what goes wrong with such files."""
    files = {name: root / f"{name}.h5" for name in ("data", "shard1", "shard2")}
    # Without residuals: a row asks for them from a dataset that lacks them.
    build(BuildConfig(effect="delay", residual=False, **TINY), files["data"], workers=1)
    for k in (1, 2):  # a shard cannot have --max-clips: two short takes at 1 s clips
        config = BuildConfig(effect="delay", source="synth:2", clip_seconds=1.0, shard=(k, 2))
        build(config, files[f"shard{k}"], workers=1)
    files["zero_h5"] = root / "zero.h5"
    files["zero_h5"].write_bytes(b"")
    files["truncated_h5"] = root / "truncated.h5"
    whole = files["data"].read_bytes()
    files["truncated_h5"].write_bytes(whole[: len(whole) // 2])
    files["foreign_h5"] = root / "foreign.h5"
    with h5py.File(files["foreign_h5"], "w") as f:
        f["x"] = np.arange(3)
    files["hollow"] = root / "hollow.h5"  # fxr's attributes, none of the datasets
    with h5py.File(files["data"], "r") as source, h5py.File(files["hollow"], "w") as f:
        f.attrs.update(dict(source.attrs))
    for name, change in (("no_wet", _delete_wet), ("short_wet", _shorten_wet)):
        for damaged, whole in ((name, "data"), (f"{name}_shard", "shard1")):
            files[damaged] = root / f"{damaged}.h5"
            shutil.copy(files[whole], files[damaged])
            with h5py.File(files[damaged], "r+") as f:
                change(f)
    files["unfinished"] = root / "d.h5.partial"  # what a killed build leaves
    shutil.copy(files["data"], files["unfinished"])
    with h5py.File(files["unfinished"], "r+") as f:
        del f.attrs["complete"]
    return files


def _delete_wet(f: h5py.File) -> None:
    del f["examples/wet_mel"]


def _shorten_wet(f: h5py.File) -> None:
    wet = f["examples/wet_mel"][:-1]
    del f["examples/wet_mel"]
    f["examples/wet_mel"] = wet


def write_runs(root: Path, data: Path) -> dict[str, Path]:
    """A one-epoch pair run whose dataset has since gone, and damaged copies of it."""
    gone = root / "gone.h5"
    shutil.copy(data, gone)
    run = root / "run"
    tiny = dict(epochs=1, batch_size=8, device="cpu", hyperparameters=TINY_MODEL)
    config = FitConfig(model="cnn", data=str(gone), **tiny)
    fit(config, run)
    gone.unlink()
    files = {"run": run}
    for name in ("run_bad_model", "run_bad_config", "resume_bad_config"):
        files[name] = root / name
        shutil.copytree(run, files[name])
    model = files["run_bad_model"] / "model.pt"
    model.write_bytes(model.read_bytes()[:1000])
    files["bad_onnx"] = root / "bad.onnx"
    files["bad_onnx"].write_bytes(b"not an ONNX graph")
    for name in ("run_bad_config", "resume_bad_config"):
        (files[name] / "config.json").write_text("{not json")
    return files


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad-input")
    found = {**write_audio_files(root), **write_datasets(root)}
    found.update(write_runs(root, found["data"]))
    found["missing"] = root / "missing"
    registry.reset()
    return found


# ---------------------------------------------------------------- the harness


def inject(fault: str, monkeypatch) -> None:
    """Make the final rename of every write fail as ``fault`` says."""

    def replace(src, dst, *args, **kwargs):
        if fault == "CTRL-C":
            raise KeyboardInterrupt
        code = getattr(errno, fault)
        raise OSError(code, os.strerror(code), os.fspath(src), None, os.fspath(dst))

    monkeypatch.setattr(os, "replace", replace)


def check(command: list[str], row: Row, files: dict, tmp_path: Path, monkeypatch) -> None:
    names = {name: str(path) for name, path in files.items()}
    args = [arg.format(tmp=tmp_path, **names) for arg in shlex.split(row.args)]
    with monkeypatch.context() as patch:
        patch.chdir(tmp_path)  # outputs by default go below the current folder
        if row.fault:
            inject(row.fault, patch)
        result = CliRunner().invoke(cli, [*command, *args])
    if os.environ.get("FXR_SHOW_ROWS"):  # `FXR_SHOW_ROWS=1 pytest -s`: read every message
        print("ROW", command, row.args, row.fault or "", "=>", result.exit_code, result.stderr)
    assert result.exit_code == row.status, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fxr: interrupted" if row.status == 130 else "fxr: error: ")
    assert row.fragment in lines[0]
    assert "Traceback" not in result.output
    for folder in (tmp_path, files["data"].parent):
        assert not [p for p in folder.rglob("*.partial*") if p != files["unfinished"]]


def rows(command: str):
    table = TABLE[command]
    ids = [f"{row.args or '(none)'}{' ' + row.fault if row.fault else ''}" for row in table]
    return pytest.mark.parametrize("row", table, ids=ids)


# ---------------------------------------------------------------- one test per command


@rows("list-effects")
def test_list_effects(row, files, tmp_path, monkeypatch):
    check(["list-effects"], row, files, tmp_path, monkeypatch)


@rows("list-sources")
def test_list_sources(row, files, tmp_path, monkeypatch):
    check(["list-sources"], row, files, tmp_path, monkeypatch)


@rows("list-models")
def test_list_models(row, files, tmp_path, monkeypatch):
    check(["list-models"], row, files, tmp_path, monkeypatch)


@rows("list-estimators")
def test_list_estimators(row, files, tmp_path, monkeypatch):
    check(["list-estimators"], row, files, tmp_path, monkeypatch)


@rows("plugins")
def test_plugins(row, files, tmp_path, monkeypatch):
    check(["plugins"], row, files, tmp_path, monkeypatch)


@rows("render")
def test_render(row, files, tmp_path, monkeypatch):
    check(["render"], row, files, tmp_path, monkeypatch)


@rows("build")
def test_build(row, files, tmp_path, monkeypatch):
    check(["build"], row, files, tmp_path, monkeypatch)


@rows("inspect")
def test_inspect(row, files, tmp_path, monkeypatch):
    check(["inspect"], row, files, tmp_path, monkeypatch)


@rows("merge")
def test_merge(row, files, tmp_path, monkeypatch):
    check(["merge"], row, files, tmp_path, monkeypatch)


@rows("fit")
def test_fit(row, files, tmp_path, monkeypatch):
    check(["fit"], row, files, tmp_path, monkeypatch)


@rows("evaluate")
def test_evaluate(row, files, tmp_path, monkeypatch):
    check(["evaluate"], row, files, tmp_path, monkeypatch)


@rows("estimate")
def test_estimate(row, files, tmp_path, monkeypatch):
    check(["estimate"], row, files, tmp_path, monkeypatch)


@rows("export")
def test_export(row, files, tmp_path, monkeypatch):
    check(["export"], row, files, tmp_path, monkeypatch)


@pytest.mark.parametrize("row", GROUP, ids=[row.args for row in GROUP])
def test_fxr_itself(row, files, tmp_path, monkeypatch):
    check([], row, files, tmp_path, monkeypatch)


# ---------------------------------------------------------------- the tables stay whole


def test_every_command_has_a_table():
    assert sorted(TABLE) == sorted(cli.commands), "add a table of bad inputs for the command"
    assert all(TABLE.values())


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_option_of_a_command_is_in_its_table(name):
    """A new option gets a row (a bad value; `--flag=yes` for a flag) or an exemption."""
    used = {arg.split("=")[0] for row in TABLE.get(name, []) for arg in shlex.split(row.args)}
    missing = [
        param.opts[0]
        for param in cli.commands[name].params
        if isinstance(param, click.Option)
        and not set(param.opts) & used
        and (name, param.opts[0]) not in EXEMPT
    ]
    assert not missing, f"fxr {name}: no row of TABLE[{name!r}] uses {', '.join(missing)}"
