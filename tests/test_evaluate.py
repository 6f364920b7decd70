"""`fxr evaluate` and `fxr estimate`: metrics, figures, estimates on users' files, refinement."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import Effect, Parameter, registry
from fxregistry.audio.io import SAMPLE_RATE, read_audio, write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.estimation.echoes import confirms
from fxregistry.estimation.estimate import estimate, windows
from fxregistry.estimation.search import search_settings
from fxregistry.evaluation.checked import checked_predictions
from fxregistry.evaluation.examples import dry_clips, split_examples
from fxregistry.evaluation.floor import identifiability_floor
from fxregistry.evaluation.metrics import confusion_matrix, split_metrics
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny delay dataset (0.5 s clips) and three one-epoch runs on it."""
    folder = tmp_path_factory.mktemp("runs")
    data = folder / "delay.h5"
    build(BuildConfig(effect="delay", source="synth:4", clip_seconds=0.5, max_clips=10), data)
    made = {"data": data}
    for name, options in {
        "pair": {"model": "cnn", "input": "pair"},
        "wet": {"model": "cnn", "input": "wet"},
        "unet": {"model": "unet", "input": "pair", "freeze_encoder": True},
    }.items():
        config = FitConfig(data=str(data), epochs=1, batch_size=8, device="cpu", **options)
        fit(config, folder / name)
        made[name] = folder / name
    registry.reset()
    return made


@pytest.fixture
def take(guitar, tmp_path):
    """A dry take as a 48 kHz stereo file, and its delay render at grid value 5."""
    delay = registry.get_effect("delay")
    stereo = np.stack([guitar, 0.8 * guitar])
    setting = {"delay_seconds": delay.parameters[0].grid[5]}
    dry = write_audio(tmp_path / "dry.wav", stereo, SAMPLE_RATE)
    wet = write_audio(tmp_path / "wet.wav", delay(stereo, SAMPLE_RATE, **setting), SAMPLE_RATE)
    return dry, wet, setting


# ---------------------------------------------------------------- metrics

LEVEL = Parameter("level", "dB", grid=(0.0, 5.0, 10.0), range=(0.0, 10.0))
TOY = Effect("toy", "a toy", (LEVEL,), render=lambda audio, sample_rate, level: audio)


def test_metrics_match_hand_computed_values():
    truth = np.array([[0.0], [0.5], [1.0], [1.0]])
    prediction = np.array([[0.1], [0.5], [0.6], [0.8]])
    m = split_metrics(prediction, truth, TOY)
    assert m["n"] == 4
    assert m["mae"] == pytest.approx((0.1 + 0 + 0.4 + 0.2) / 4)
    assert m["mse"] == pytest.approx((0.01 + 0 + 0.16 + 0.04) / 4)
    # Snapped: 0.1 -> 0 dB (right), 0.5 -> 5 (right), 0.6 -> 5 (wrong), 0.8 -> 10 (right).
    assert m["grid_accuracy"] == pytest.approx(0.75)
    level = m["per_parameter"]["level"]
    assert level["unit"] == "dB" and level["mae"] == pytest.approx(10 * 0.7 / 4)


def test_confusion_matrix_counts_true_against_predicted_grid_values():
    truth = np.array([0.0, 0.0, 0.5, 1.0, 1.0])
    prediction = np.array([0.0, 0.4, 0.5, 0.9, 0.3])
    assert confusion_matrix(LEVEL, prediction, truth).tolist() == [
        [1, 1, 0],
        [0, 1, 0],
        [0, 1, 1],
    ]


def test_units_and_grid_snapping_follow_each_parameters_scale():
    rate = registry.get_effect("sample-rate").parameters[0]  # log scale
    normalized = np.array([rate.normalize(v) for v in rate.grid])
    assert np.allclose(rate.to_units(normalized), rate.grid)
    assert rate.grid_indices(normalized).tolist() == list(range(len(rate.grid)))


# ---------------------------------------------------------------- evaluate


def test_evaluate_writes_the_tables_and_figures(runs):
    result = run("evaluate", runs["pair"], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == json.loads((runs["pair"] / "eval.json").read_text())
    assert report["effect"] == "delay" and report["chance_mae"] == pytest.approx(1 / 3)
    for split in ("train", "valid", "test"):
        m = report["splits"][split]
        assert {"n", "mse", "mae", "grid_accuracy", "per_parameter"} <= set(m)
    assert report["splits"]["train"]["per_parameter"]["delay_seconds"]["unit"] == "s"
    assert (runs["pair"] / "confusion_delay_seconds.png").stat().st_size > 1000
    table = run("evaluate", runs["pair"])
    assert "MAE" in table.stdout and "test" in table.stdout


def test_evaluate_shows_the_reconstruction_of_a_model_with_a_decoder(runs):
    report = json.loads(run("evaluate", runs["unet"], "--json").stdout)
    r = report["reconstruction"]
    assert r["l2"] > 0 and set(r["high_frequency_ratio"]) == {"wet", "reconstruction", "dry"}
    assert (runs["unet"] / "reconstruction.png").is_file()


def test_a_wet_runs_evaluation_also_scores_what_a_blind_estimate_answers(runs, tmp_path):
    report = json.loads(run("evaluate", runs["wet"], "--json").stdout)
    checked = report["blind_check"]
    assert checked["check"] == "echoes"  # the delay is linear: its echoes name the setting
    for split, m in checked["splits"].items():
        assert m["n"] == report["splits"][split]["n"] and 0 <= m["answered"] <= 1
    assert "with the echoes check" in run("evaluate", runs["wet"]).stdout
    assert "blind_check" not in json.loads(
        run("evaluate", runs["wet"], "--no-checks", "--json").stdout
    )
    assert "blind_check" not in json.loads(run("evaluate", runs["pair"], "--json").stdout)

    # Each example's answer is fxr estimate's on its wet audio: the check's setting where
    # it found one (NaN marks where it did not), else the network's.
    delay = registry.get_effect("delay")
    examples = list(split_examples(runs["data"], "test"))
    unset = np.full((len(examples), 1), np.nan)
    answer, answered = checked_predictions(runs["data"], "test", unset, delay)
    assert answered == pytest.approx(np.mean(~np.isnan(answer[:, 0])))
    assert answered == checked["splits"]["test"]["answered"] > 0
    for i, _, _, wet in examples:
        said = estimate(runs["wet"], write_audio(tmp_path / f"{i}.wav", wet, SAMPLE_RATE))
        value = said["parameters"]["delay_seconds"]["value"]
        if np.isnan(answer[i, 0]):
            assert said.get("echoes") is None or not confirms(said["echoes"])
        else:
            assert value == pytest.approx(delay.parameters[0].denormalize(answer[i, 0]))
    assert examples and {i for i, *_ in examples} == set(range(len(examples)))


# ---------------------------------------------------------------- estimate


def test_windows_pad_short_input_and_drop_a_tiny_tail():
    clip = 100
    assert windows(np.ones(30, np.float32), clip).shape == (1, 100)
    assert windows(np.ones(220, np.float32), clip).shape == (2, 100)  # 20 < a quarter
    padded = windows(np.ones(260, np.float32), clip)
    assert padded.shape == (3, 100) and padded[2, 60:].sum() == 0


def test_estimate_reads_any_rate_channels_and_length(runs, take, tmp_path):
    dry, wet, _ = take
    result = estimate(runs["pair"], wet, dry, device="cpu")
    assert result["effect"] == "delay"
    assert result["windows"] == 4  # 2 s of 0.5 s windows
    p = result["parameters"]["delay_seconds"]
    assert p["unit"] == "s" and p["value"] in registry.get_effect("delay").parameters[0].grid
    # Shorter than one clip, another rate, mono: one padded window.
    audio, _ = read_audio(wet, sample_rate=22050)
    short = write_audio(tmp_path / "short.flac", audio[:3000], 22050)
    assert estimate(runs["wet"], short, device="cpu")["windows"] == 1


def test_refine_recovers_the_exact_setting_and_render_to_writes_the_match(runs, take, tmp_path):
    dry, wet, setting = take
    out = tmp_path / "match.wav"
    result = run("estimate", runs["pair"], wet, "--dry", dry, "--refine", "--render-to", out,
                 "--json", "--device", "cpu")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["refined"]
    assert report["parameters"]["delay_seconds"]["value"] == setting["delay_seconds"]
    assert report["distance_after"] <= report["distance_before"]
    original, rate = read_audio(dry, sample_rate=None, mono=False)
    expected = registry.get_effect("delay")(original, rate, **setting)
    written, written_rate = read_audio(out, sample_rate=None, mono=False)
    assert written_rate == rate and np.allclose(written, expected, atol=1e-6)


@pytest.mark.parametrize("exhaustive", [64, 1])
def test_search_finds_the_rendered_bit_depth_from_a_wrong_start(guitar, monkeypatch, exhaustive):
    monkeypatch.setattr("fxregistry.estimation.search.EXHAUSTIVE", exhaustive)  # 1: walk the grid
    crusher = registry.get_effect("bitcrusher")
    wet = crusher(guitar, SAMPLE_RATE, bit_depth=10)
    found, distance = search_settings(crusher, guitar, wet, {"bit_depth": 4})
    assert found == {"bit_depth": 10} and distance == pytest.approx(0, abs=1e-6)


# ---------------------------------------------------------------- bad input


def test_bad_estimate_and_evaluate_input_is_one_clear_line_and_exit_2(runs, take, tmp_path):
    dry, wet, _ = take
    noise = tmp_path / "noise.wav"
    noise.write_bytes(b"RIFF not really a wave file")
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    cases = [
        (["estimate", runs["pair"], wet], "--input pair: pass the unprocessed audio"),
        (["estimate", runs["wet"], wet, "--refine"], "needs the dry audio"),
        (["estimate", runs["wet"], noise], "cannot decode audio"),
        (["estimate", runs["wet"], tmp_path / "nothing.wav"], "no such audio file"),
        (["estimate", incomplete, wet], "model.pt: no such file"),
        (["evaluate", incomplete], "model.pt: no such file"),
        (["evaluate", tmp_path / "nowhere"], "not a run directory"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


# ---------------------------------------------------------------- the floor


def test_clips_made_again_from_the_source_equal_the_stored_ones(tmp_path):
    config = BuildConfig(effect="bitcrusher", source="synth:3", clip_seconds=0.5, max_clips=5)
    build(BuildConfig(**{**config.__dict__, "keep_audio": True}), tmp_path / "kept.h5")
    build(config, tmp_path / "lean.h5")
    rows = np.array([3, 0, 4])
    assert np.array_equal(
        dry_clips(tmp_path / "kept.h5", rows), dry_clips(tmp_path / "lean.h5", rows)
    )


def test_the_floor_is_zero_where_settings_are_identifiable_and_not_where_they_sound_alike(tmp_path):
    for effect in ("delay", "limiter"):
        config = BuildConfig(effect=effect, source="synth:3", clip_seconds=0.5, max_clips=4)
        build(config, tmp_path / f"{effect}.h5")
    assert identifiability_floor(tmp_path / "delay.h5", "train")["mae"] == 0
    # Peaks at -1 dBFS never reach a 0 dB threshold: its three release times sound alike,
    # so at least two of every three of those examples are missed.
    limiter = identifiability_floor(tmp_path / "limiter.h5", "train")
    assert 0.05 < limiter["mae"] and limiter["grid_accuracy"] <= 1 - 2 / 9 + 1e-9
    assert limiter["per_parameter"]["threshold_db"]["grid_accuracy"] == 1


def test_evaluate_floor_reports_it_beside_the_model(runs):
    report = json.loads(
        run("evaluate", runs["wet"], "--floor", "--floor-limit", "5", "--json").stdout
    )
    assert report["floor"]["test"]["n"] == 5 and report["floor"]["test"]["mae"] == 0
