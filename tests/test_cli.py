"""The command line: the documented JSON shapes, tables for people, exit status 2
with one clear line for bad input, and the installed console script.

Over 400 lines because it is the one place for the whole command layer: output,
options derived from the configs, recipes, and how every error and interrupt ends
(the bad inputs themselves, command by command, are tests/test_bad_input.py).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import Model, registry
from fxregistry.audio.io import read_audio, write_audio
from fxregistry.cli.main import cli
from fxregistry.cli.options import config_values, option_fields
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.recipes import load_recipe
from fxregistry.errors import FxrError, Interrupted
from fxregistry.training.config import (
    DEVICE_HELP,
    INPUTS,
    NORMALIZATIONS,
    FitConfig,
    parse_hyperparameters,
)

ROOT = Path(__file__).resolve().parents[1]
FXR = Path(sys.executable).parent / "fxr"
UNSET = getattr(click.core, "UNSET", None)  # click >= 8.3 marks an option without default

STUDY_GRIDS = {
    "limiter": {"threshold_db": [-9.0, -5.0, 0.0], "release_ms": [0.0, 500.0, 900.0]},
    "bitcrusher": {"bit_depth": [float(b) for b in range(17)]},
    "sample-rate": {"target_khz": [8.0, 11.025, 12.0, 16.0, 22.05, 24.0, 32.0, 44.1]},
    "delay": {"delay_seconds": np.linspace(0, 0.25, 8).tolist()},
}


@pytest.fixture
def runner():
    return CliRunner()


def test_list_effects_json_has_the_study_effects_with_their_grids(runner):
    result = runner.invoke(cli, ["list-effects", "--json"])
    assert result.exit_code == 0
    effects = {e["name"]: e for e in json.loads(result.stdout)}
    for name, grids in STUDY_GRIDS.items():
        effect = effects[name]
        assert set(effect) >= {"name", "description", "plugin", "parameters", "fixed"}
        assert effect["plugin"] == "fxregistry"
        for p in effect["parameters"]:
            assert set(p) >= {"name", "unit", "grid", "range", "scale"}
            assert p["grid"] == pytest.approx(grids[p["name"]])
    assert effects["delay"]["fixed"] == {"feedback": 0.7, "mix": 0.5}
    assert {p["unit"] for e in effects.values() for p in e["parameters"]} <= {
        "dB",
        "ms",
        "s",
        "bits",
        "kHz",
    }


def test_list_effects_table_names_each_effect_its_provider_and_units(runner):
    result = runner.invoke(cli, ["list-effects"])
    assert result.exit_code == 0
    for text in (
        "limiter",
        "threshold_db",
        "release_ms",
        "bitcrusher",
        "sample-rate",
        "11.025",
        "delay_seconds",
        "fxregistry 0.1.0",
        "feedback=0.7",
    ):
        assert text in result.stdout


def test_list_sources_and_models_print_a_table_or_a_clear_note(runner):
    sources = runner.invoke(cli, ["list-sources"])
    assert sources.exit_code == 0 and "synth" in sources.stdout
    models = runner.invoke(cli, ["list-models"])
    assert models.exit_code == 0
    assert "model" in models.stdout.lower()
    assert json.loads(runner.invoke(cli, ["list-sources", "--json"]).stdout)[0]["name"]


def test_render_writes_the_effect_applied_to_a_file(tmp_path, runner, guitar):
    stereo = np.stack([guitar, 0.5 * guitar])
    write_audio(tmp_path / "dry.wav", stereo, 48000)
    result = runner.invoke(
        cli,
        [
            "render",
            "--effect",
            "delay",
            "--set",
            "delay_seconds=0.25",
            str(tmp_path / "dry.wav"),
            str(tmp_path / "wet.wav"),
        ],
    )
    assert result.exit_code == 0, result.output
    wet, rate = read_audio(tmp_path / "wet.wav", sample_rate=None, mono=False)
    dry, _ = read_audio(tmp_path / "dry.wav", sample_rate=None, mono=False)
    assert rate == 48000 and wet.shape == (2, guitar.size)
    expected = registry.get_effect("delay")(dry, 48000, delay_seconds=0.25)
    np.testing.assert_allclose(wet, expected, atol=1e-4)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--effect", "limitr", "--set", "threshold_db=0"],
            "unknown effect 'limitr' (did you mean 'limiter'?)",
        ),
        (
            ["--effect", "delay", "--set", "delay_seconds=2"],
            "delay_seconds = 2 s is outside its range [0, 0.25] s",
        ),
        (["--effect", "delay"], "delay needs a value for delay_seconds"),
        (["--effect", "delay", "--set", "delay_seconds"], "is not NAME=VALUE"),
        (["--effect", "delay", "--set", "delay_seconds=fast"], "is not a number"),
    ],
)
def test_bad_render_input_is_one_clear_line_and_exit_2(tmp_path, runner, guitar, args, message):
    write_audio(tmp_path / "dry.wav", guitar, 44100)
    result = runner.invoke(
        cli, ["render", *args, str(tmp_path / "dry.wav"), str(tmp_path / "o.wav")]
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.wav").exists()


def test_an_unreadable_audio_file_is_exit_2_naming_the_file(tmp_path, runner):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    result = runner.invoke(
        cli,
        [
            "render",
            "--effect",
            "delay",
            "--set",
            "delay_seconds=0",
            str(bad),
            str(tmp_path / "o.wav"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "notes.wav: cannot decode audio" in result.stderr


def test_the_installed_console_script_runs_as_a_real_process():
    assert FXR.exists(), f"console script not installed at {FXR}"
    env = {k: v for k, v in os.environ.items() if k != "FXR_PLUGINS"}
    listed = subprocess.run(
        [str(FXR), "list-effects", "--json"], capture_output=True, text=True, env=env, check=True
    )
    assert {"limiter", "bitcrusher", "sample-rate", "delay"} <= {
        e["name"] for e in json.loads(listed.stdout)
    }
    unknown = subprocess.run(
        [str(FXR), "render", "--effect", "nope", "a.wav", "b.wav"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("fxr: error: unknown effect 'nope'")
    assert "Traceback" not in unknown.stderr


def test_the_example_third_party_plugin_is_found_when_on_the_path(tmp_path):
    """plugins/fxr-distortion, made visible as an installed distribution without pip."""
    example = ROOT / "plugins" / "fxr-distortion"
    site = tmp_path / "site"
    dist_info = site / "fxr_distortion-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fxr-distortion\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[fxregistry]\ndistortion = fxr_distortion\n")
    shutil.copytree(example / "fxr_distortion", site / "fxr_distortion")
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("FXR_PLUGINS", None)
    out = subprocess.run(
        [str(FXR), "list-effects", "--json"], capture_output=True, text=True, env=env, check=True
    )
    effects = {e["name"]: e for e in json.loads(out.stdout)}
    assert effects["distortion"]["plugin"] == "fxr-distortion"
    assert effects["distortion"]["parameters"][0]["name"] == "drive_db"
    # It ships a default estimator for its effect through the hook, as fxr's own do.
    out = subprocess.run(
        [str(FXR), "list-estimators", "--json"], capture_output=True, text=True, env=env, check=True
    )
    shipped = {e["name"]: e for e in json.loads(out.stdout)}
    assert shipped["distortion-wet"]["effect"] == "distortion"
    assert shipped["distortion-wet"]["plugin"] == "fxr-distortion"


# ------------------------------------------- options written once, in the configs


def _context(command: str, *args: str) -> click.Context:
    """The context of ``fxr COMMAND ARGS``, parsed but not run.

    Under the group's own context, as the real command line does: click keeps
    the first context's help option on the command, which would otherwise lose
    the group's ``-h`` for the rest of the session.
    """
    root = click.Context(cli, info_name="fxr", **cli.context_settings)
    return cli.commands[command].make_context(command, list(args), parent=root)


@pytest.mark.parametrize(
    "command, config, required",
    [
        ("build", BuildConfig, {"effect": "delay"}),
        ("fit", FitConfig, {"model": "cnn", "data": "x.h5"}),
    ],
)
def test_command_defaults_are_the_config_defaults(command, config, required):
    """What a command does without options is what its config says, and --help says so."""
    args = [a for name, value in required.items() for a in (f"--{name}", value)]
    ctx = _context(command, *args)
    assert config(**{**config_values(config, ctx.params), **required}) == config(**required)
    params = {p.name: p for p in cli.commands[command].params}
    for f in option_fields(config):
        param = params[f.name]
        on = f.default is True  # a flag that is on unless --no-FLAG; its help says so
        assert param.help == f.metadata["help"] + ("  [default: on]" if on else "")
        if "show" in f.metadata:  # shown as typed, e.g. 80/10/10, and parsed back
            assert param.default == f.metadata["show"](f.default)
            assert f.metadata["parse"](param.default) == f.default
        elif f.default not in (dataclasses.MISSING, None) and not param.is_flag:
            assert param.default == f.default and param.show_default
        else:
            assert param.default in (None, UNSET) or param.multiple or param.is_flag


def test_every_config_field_but_in_memory_is_an_option():
    assert {f.name for f in option_fields(BuildConfig)} == {
        f.name for f in dataclasses.fields(BuildConfig)
    }
    assert {f.name for f in dataclasses.fields(FitConfig)} - {
        f.name for f in option_fields(FitConfig)
    } == {"in_memory"}


@pytest.mark.parametrize("command", ["fit", "evaluate", "estimate"])
def test_device_help_is_written_once(runner, command):
    result = runner.invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert DEVICE_HELP in result.stdout


def test_choices_come_from_the_torch_free_constants():
    params = {p.name: p for p in cli.commands["fit"].params}
    assert list(params["input"].type.choices) == list(INPUTS)
    assert list(params["normalization"].type.choices) == list(NORMALIZATIONS)


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from fxregistry.cli import cli\n"
        "for args in (['--help'], ['build', '--help'], ['fit', '--help'], ['evaluate', '-h']):\n"
        "    try:\n"
        "        cli.main(args, prog_name='fxr')\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (args, exc.code)\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stderr.strip() == "False"


def test_bad_split_is_one_clear_line(runner, tmp_path):
    result = runner.invoke(
        cli, ["build", "--effect", "delay", "--split", "1/2", "--out", str(tmp_path / "x.h5")]
    )
    assert result.exit_code == 2
    assert result.stderr == "fxr: error: --split '1/2' is not TRAIN/VALID/TEST, e.g. 80/10/10\n"


# ------------------------------------------------------------------ recipes


def _build_config(*args: str) -> tuple[BuildConfig, dict]:
    ctx = _context("build", *args)
    return BuildConfig(**config_values(BuildConfig, ctx.params)), ctx.params


@pytest.mark.parametrize("recipe", sorted((ROOT / "datasets").rglob("*.toml")), ids=str)
def test_every_recipe_in_datasets_is_a_valid_build(recipe):
    # A recipe for any one effect leaves --effect to the command line.
    given = [] if "effect" in load_recipe(recipe) else ["--effect", "delay"]
    config, _ = _build_config("--recipe", str(recipe), *given)
    named = registry.effect_names() if config.effect == "all" else config.effect.split(",")
    assert set(named) <= set(registry.effect_names())


@pytest.mark.parametrize("recipe", sorted((ROOT / "datasets" / "study").glob("*.toml")), ids=str)
def test_the_study_recipes_build_the_data_behind_the_results_page(recipe):
    config, params = _build_config("--recipe", str(recipe))
    assert config.effect in registry.effect_names()
    assert config.residual and config.max_clips == 160
    assert params["out"] == f"datasets/{config.effect}.h5"


def test_options_given_on_the_command_line_win_over_the_recipe():
    recipe = str(ROOT / "datasets" / "study" / "delay.toml")
    config, params = _build_config("--recipe", recipe, "--seed", "3", "--out", "x.h5")
    assert (config.effect, config.source, config.seed) == ("delay", "synth:40", 3)
    assert params["out"] == "x.h5"
    config, _ = _build_config("--seed", "3", "--recipe", recipe)  # in any order
    assert config.seed == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ('[build]\neffect = "delay"\nmax_clips = 3\n', "max_clips: not an option of fxr build"),
        ('[build]\nrecipe = "other.toml"\n', "recipe: not an option of fxr build"),
        ("[build\n", "not a valid TOML recipe"),
        ("[other]\nx = 1\n", "needs a [build] table"),
    ],
)
def test_a_bad_recipe_is_one_clear_line_and_exit_2(runner, tmp_path, text, message):
    recipe = tmp_path / "r.toml"
    recipe.write_text(text)
    result = runner.invoke(cli, ["build", "--recipe", str(recipe), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("fxr: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


# ------------------------------------------------- errors: one line, the right status


def test_usage_errors_are_one_line_from_a_real_process(tmp_path):
    """Click's Usage/Try/Error block is one `fxr: error:` line naming what is wrong."""
    for args, fragment in (
        (["merge", "m.h5"], "missing argument 'SHARDS...'; see fxr merge --help"),
        (["biuld"], "unknown command 'biuld' (did you mean 'build'?)"),
        (["build", "--effect", "delay", "--out", str(tmp_path)], "is a directory"),
    ):
        done = subprocess.run([str(FXR), *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("fxr: error: ") and done.stderr.count("\n") == 1
        assert fragment in done.stderr


def test_help_version_and_a_normal_exit_keep_their_status(runner):
    assert runner.invoke(cli, ["--version"]).exit_code == 0
    assert runner.invoke(cli, ["build", "--help"]).exit_code == 0
    assert runner.invoke(cli, ["list-effects"]).exit_code == 0
    assert "Usage: fxr" in runner.invoke(cli, [], prog_name="fxr").output


@pytest.mark.parametrize(
    "error, status, line",
    [
        (OSError(errno.ENOSPC, "No space left on device", "d.h5"), 2, "d.h5: No space left"),
        (PermissionError(errno.EACCES, "Permission denied", "x/y"), 2, "x/y: Permission denied"),
        (OSError(errno.EROFS, "Read-only file system"), 2, "error: Read-only file system"),
        (OSError(errno.ECONNRESET, "Connection reset"), 1, "internal error: ConnectionResetError"),
        (KeyboardInterrupt(), 130, "fxr: interrupted"),
        (Interrupted("resume with: fxr x"), 130, "fxr: interrupted; resume with: fxr x"),
        (FxrError("two\nlines"), 2, "fxr: error: two; lines"),
    ],
)
def test_every_fault_is_one_line_with_its_status(runner, monkeypatch, error, status, line):
    """The group's safety net: an OSError on a user's path is not a bug, Ctrl-C is 130."""

    def fail(path):
        raise error

    monkeypatch.setattr("fxregistry.dataset.summary.describe", fail)
    result = runner.invoke(cli, ["inspect", "x.h5"])
    assert result.exit_code == status
    assert result.stderr.count("\n") == 1 and line in result.stderr
    assert "Traceback" not in result.output


def test_an_interrupted_fit_says_how_to_resume_and_that_works(tmp_path, runner, monkeypatch):
    import torch

    from fxregistry.dataset.build import build

    data = tmp_path / "d.h5"
    build(BuildConfig(effect="delay", source="synth:3", clip_seconds=0.25, max_clips=3), data)
    args = ["fit", "--model", "cnn", "--data", str(data), "--epochs", "2", "--batch-size", "2"]
    args += ["--hparam", "channels=[4,8]", "--hparam", "hidden=8", "--device", "cpu"]
    calls = {"n": 0}
    original = torch.nn.functional.l1_loss

    def ctrl_c_at_step_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # a training step of the first epoch
            signal.raise_signal(signal.SIGINT)  # the trainer stops after this step
        return original(*args, **kwargs)

    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr("fxregistry.training.trainer.F.l1_loss", ctrl_c_at_step_2)
        cut = runner.invoke(cli, [*args, "--out", str(run)])
    assert cut.exit_code == 130, cut.output
    last = cut.stderr.splitlines()[-1]
    assert (
        last
        == f"fxr: interrupted; the checkpoint in {run} continues with: fxr fit --resume --out {run}"
    )
    resumed = runner.invoke(cli, shlex.split(last.split("continues with: fxr ")[1]))
    assert resumed.exit_code == 0, resumed.output
    assert (run / "model.pt").exists()


def test_options_are_checked_in_the_configs_so_library_users_get_the_same_checks():
    for bad in ({"clip_seconds": math.inf}, {"min_level_db": math.nan}, {"seed": -1}):
        with pytest.raises(FxrError, match="--" + next(iter(bad)).replace("_", "-")):
            BuildConfig(effect="delay", **bad)
    for bad in ({"lr_gamma": -1.0}, {"lr": math.nan}, {"epochs": 0}, {"workers": -2}):
        with pytest.raises(FxrError, match="--" + next(iter(bad)).replace("_", "-")):
            FitConfig(model="cnn", data="d.h5", **bad)


@pytest.mark.parametrize(
    "text, value",
    [("channels=[4, 8]", [4, 8]), ("act=relu", "relu"), ('act="relu"', "relu"), ("p=0.5", 0.5)],
)
def test_a_hyperparameter_is_json_or_one_plain_word(text, value):
    assert parse_hyperparameters([text]) == {text.split("=")[0]: value}


@pytest.mark.parametrize(
    "text", ["channels=[1,2", "act=relu 6", "p=NaN", "p=1e999", "x=[1,-Infinity]"]
)
def test_a_hyperparameter_that_is_neither_is_refused_by_name(text):
    with pytest.raises(FxrError, match=f"--hparam {text.split('=')[0]}: "):
        parse_hyperparameters([text])


def test_a_model_that_refuses_the_given_hyperparameters_is_bad_input_not_a_bug():
    def create(in_channels, outputs, width):
        if width < 1:
            raise ValueError(f"width {width} < 1")
        return object()

    model = Model("m", "a test model", create, hyperparameters={"width": 4})
    with pytest.raises(FxrError, match=r"model 'm' cannot be built with width=-5: width -5 < 1"):
        model.build(1, 1, width=-5)
    broken = Model("b", "defaults that fail", create, hyperparameters={"width": 0})
    with pytest.raises(ValueError):  # its own defaults fail: the plugin's bug, exit 1
        broken.build(1, 1)
