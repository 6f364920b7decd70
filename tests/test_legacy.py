"""Files written by an earlier fxr keep working, with the same answers.

``tests/data/legacy`` holds a tiny delay dataset and a run trained on it by
fxr before its package was reorganized (commit 6366753), with what
``inspect``, ``evaluate`` and ``estimate`` printed then. The same commands
must read them today and print the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fxregistry.cli import cli

LEGACY = Path(__file__).parent / "data" / "legacy"


def run_json(*args: str):
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected(name: str):
    return json.loads((LEGACY / f"{name}_old.json").read_text())


def test_an_old_dataset_inspects_as_before():
    now, then = run_json("inspect", str(LEGACY / "dataset.h5")), expected("inspect")
    for key in set(then) - {"path", "bytes"}:
        assert now[key] == then[key], key


def test_an_old_run_evaluates_as_before(tmp_path):
    run = shutil.copytree(LEGACY / "run", tmp_path / "run")  # evaluate writes into the run
    now = run_json("evaluate", str(run), "--data", str(LEGACY / "dataset.h5"), "--device", "cpu")
    then = expected("eval")
    assert (now["effect"], now["model"], now["input"]) == (
        then["effect"],
        then["model"],
        then["input"],
    )
    for split, metrics in then["splits"].items():
        for key in ("n", "mse", "mae", "grid_accuracy"):
            assert now["splits"][split][key] == pytest.approx(metrics[key], abs=1e-6), (split, key)


def test_an_old_run_estimates_as_before():
    now = run_json(
        "estimate",
        str(LEGACY / "run"),
        str(LEGACY / "wet.flac"),
        "--dry",
        str(LEGACY / "dry.flac"),
        "--refine",
        "--device",
        "cpu",
    )
    then = expected("estimate")
    assert set(then) <= set(now)
    assert now["effect"] == then["effect"] and now["windows"] == then["windows"]
    for name, p in then["parameters"].items():
        for key in ("value", "grid_value", "network"):
            assert now["parameters"][name][key] == pytest.approx(p[key], abs=1e-6)
    # Most of this quiet take's magnitudes lie near the distance's 1e-5 floor, where float32
    # FFTs round differently: torch's, then, was 4.4e-5 off the float64 distance, numpy's 7e-7.
    assert now["distance_after"] == pytest.approx(then["distance_after"], abs=1e-4)
