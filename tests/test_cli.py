"""The command line: JSON shapes of SPEC.md, tables for people, exit status 2
with one clear line for bad input, and the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.audio.io import read_audio, write_audio
from fxregistry.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
FXR = Path(sys.executable).parent / "fxr"

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
    (site / "fxr_distortion.py").write_text((example / "fxr_distortion.py").read_text())
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("FXR_PLUGINS", None)
    out = subprocess.run(
        [str(FXR), "list-effects", "--json"], capture_output=True, text=True, env=env, check=True
    )
    effects = {e["name"]: e for e in json.loads(out.stdout)}
    assert effects["distortion"]["plugin"] == "fxr-distortion"
    assert effects["distortion"]["parameters"][0]["name"] == "drive_db"
