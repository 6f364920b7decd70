"""``fxr build`` and ``fxr inspect``: what the dataset file holds, that it is
deterministic, that splits never share a recording, and that bad input or an
interrupted build never leaves a file that looks whole."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import fxregistry
from fxregistry import Effect, Parameter, registry
from fxregistry.audio.features import FeatureConfig
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import SPLITS, DatasetHeader, open_dataset, read_header
from fxregistry.dataset.pool import worker_pool
from fxregistry.dataset.splits import assign_splits, split_ranges_of
from fxregistry.dataset.summary import describe
from fxregistry.errors import FxrError

from .conftest import assert_example_is_its_dry_rendered

SAMPLE_RATE = 44100
# Spectrograms are stored as float16 dB: steps of at most 1/32 dB.


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def delay_file(tmp_path_factory, audio_folder):
    out = tmp_path_factory.mktemp("built") / "delay.h5"
    config = BuildConfig(effect="delay", source=str(audio_folder), keep_audio=True)
    build(config, out, workers=1)
    registry.reset()
    return out


def test_the_file_holds_the_documented_layout(delay_file):
    effect = registry.get_effect("delay")
    with open_dataset(delay_file) as f:
        n_clips, n_examples = int(f.attrs["clips"]), int(f.attrs["examples"])
        assert n_examples == n_clips * len(effect.grid())
        shapes = {
            "clips/dry_mel": (n_clips, 128, 173),
            "clips/audio": (n_clips, 2 * SAMPLE_RATE),
            "clips/recording": (n_clips,),
            "clips/start": (n_clips,),
            "clips/split": (n_clips,),
            "clips/gain_db": (n_clips,),
            "examples/wet_mel": (n_examples, 128, 173),
            "examples/clip": (n_examples,),
            "examples/split": (n_examples,),
            "examples/params": (n_examples, 1),
            "examples/params_normalized": (n_examples, 1),
            "examples/audio": (n_examples, 2 * SAMPLE_RATE),
        }
        for name, shape in shapes.items():
            assert f[name].shape == shape, name
        assert json.loads(f.attrs["effect_spec"])["name"] == "delay"
        assert json.loads(f.attrs["features"])["mel"]["n_mels"] == 128
        for key in ("source", "seed", "fxr_version", "grid", "level", "created"):
            assert key in f.attrs


def test_every_clip_is_rendered_at_every_grid_setting(delay_file):
    effect = registry.get_effect("delay")
    grid = sorted(s["delay_seconds"] for s in effect.grid())
    with open_dataset(delay_file) as f:
        clip = f["examples/clip"][:]
        params = f["examples/params"][:, 0]
        normalized = f["examples/params_normalized"][:, 0]
    for c in np.unique(clip):
        assert sorted(params[clip == c]) == pytest.approx(grid)
    expected = [effect.normalize({"delay_seconds": v})[0] for v in params]
    np.testing.assert_allclose(normalized, expected, atol=1e-6)


def test_features_are_the_spectrograms_of_the_stored_audio(delay_file):
    effect = registry.get_effect("delay")
    with open_dataset(delay_file) as f:
        for example in (0, 9, int(f.attrs["examples"]) - 1):
            setting = {"delay_seconds": float(f["examples/params"][example, 0])}
            assert_example_is_its_dry_rendered(f, example, effect, setting)


def test_clip_peaks_are_drawn_from_minus_20_to_minus_1_dbfs_by_default(delay_file):
    with open_dataset(delay_file) as f:
        peaks_db = 20 * np.log10(np.abs(f["clips/audio"][:]).max(axis=1))
    assert np.all((peaks_db >= -20.01) & (peaks_db <= -0.99))
    assert np.ptp(peaks_db) > 3  # drawn per clip, not one level for all


def test_no_recording_has_clips_in_two_splits_and_splits_are_contiguous(delay_file):
    with open_dataset(delay_file) as f:
        recording, split = f["clips/recording"][:], f["clips/split"][:]
        for r in np.unique(recording):
            assert len(set(split[recording == r])) == 1
        assert np.all(np.diff(f["examples/split"][:].astype(int)) >= 0)
        ranges = json.loads(f.attrs["examples_split_ranges"])
        for i, name in enumerate(SPLITS):
            start, stop = ranges[name]
            assert np.all(f["examples/split"][start:stop] == i)
        assert np.array_equal(f["recordings/split"][:][recording], split)


def test_inspect_reports_what_the_file_holds(delay_file):
    result = run("inspect", delay_file, "--json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["effect"] == "delay" and info["seed"] == 0
    assert sum(info["splits"].values()) == info["examples"]
    assert info["parameters"][0]["name"] == "delay_seconds"
    assert info["skipped_files"] == 1  # the corrupt .wav
    assert set(info) >= {
        "effect",
        "examples",
        "clips",
        "splits",
        "parameters",
        "features",
        "source",
        "seed",
        "fxr_version",
    }
    table = run("inspect", delay_file)
    assert "delay_seconds" in table.stdout and "train" in table.stdout


def test_same_seed_same_data_whatever_the_worker_count(tmp_path, audio_folder):
    config = BuildConfig(
        effect="bitcrusher", source=str(audio_folder), max_clips=6, grid="random:3"
    )
    build(config, tmp_path / "one.h5", workers=1)
    build(config, tmp_path / "two.h5", workers=2)
    with h5py.File(tmp_path / "one.h5") as a, h5py.File(tmp_path / "two.h5") as b:
        names = []
        a.visit(lambda name: names.append(name) if isinstance(a[name], h5py.Dataset) else None)
        for name in names:
            assert np.array_equal(a[name][:], b[name][:]), name
        for key in a.attrs:
            if key != "created":
                assert a.attrs[key] == b.attrs[key], key


def _thread_pools(_) -> dict[str, int]:
    from threadpoolctl import threadpool_info

    return {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}


def test_workers_compute_with_one_thread_each():
    # Workers fill the cores; a BLAS or torch thread pool in each would fight the others.
    with worker_pool(2) as pool:
        threads = pool.submit(_thread_pools, None).result()
    assert set(threads.values()) == {1}


def test_compress_stores_the_same_values_with_gzip(tmp_path, audio_folder):
    plain = BuildConfig(effect="delay", source=str(audio_folder), max_clips=3, keep_audio=True)
    build(plain, tmp_path / "plain.h5", workers=1)
    build(BuildConfig(**{**plain.__dict__, "compress": True}), tmp_path / "gzip.h5", workers=2)
    with h5py.File(tmp_path / "plain.h5") as a, h5py.File(tmp_path / "gzip.h5") as b:
        for name in ("clips/dry_mel", "examples/wet_mel", "clips/audio", "examples/audio"):
            assert a[name].compression is None, name
            assert b[name].compression == "gzip" and b[name].shuffle, name
            assert np.array_equal(a[name][:], b[name][:]), name
        assert b["examples/wet_mel"].id.get_storage_size() < a["examples/wet_mel"].nbytes


def test_random_grid_draws_n_settings_per_clip_inside_each_range(tmp_path, audio_folder):
    out = tmp_path / "limiter.h5"
    build(
        BuildConfig(effect="limiter", source=str(audio_folder), grid="random:5", max_clips=4),
        out,
        workers=1,
    )
    limiter = registry.get_effect("limiter")
    with open_dataset(out) as f:
        params, clip = f["examples/params"][:], f["examples/clip"][:]
    assert np.all(np.bincount(clip) == 5)
    for i, p in enumerate(limiter.parameters):
        assert np.all((params[:, i] >= p.range[0]) & (params[:, i] <= p.range[1]))
        assert len(np.unique(params[:, i])) == len(params)  # continuous, not the grid


def test_max_clips_is_shared_across_the_splits(tmp_path, audio_folder):
    out = tmp_path / "d.h5"
    build(BuildConfig(effect="delay", source=str(audio_folder), max_clips=5), out, workers=1)
    info = describe(out)
    assert info["clips"] <= 5
    assert info["split_clips"]["train"] >= 1


def test_quiet_clips_are_skipped_and_counted(tmp_path):
    from fxregistry.audio.io import write_audio

    folder = tmp_path / "quiet"
    loud = (0.3 * np.sin(np.arange(2 * SAMPLE_RATE) * 0.05)).astype(np.float32)
    write_audio(folder / "take.wav", np.concatenate([loud, np.zeros_like(loud), loud]), SAMPLE_RATE)
    report = build(BuildConfig(effect="delay", source=str(folder)), tmp_path / "q.h5", workers=1)
    assert report.clips == 2 and report.skipped_quiet_clips == 1


def test_features_stft_stores_linear_frequency_spectrograms(tmp_path, audio_folder):
    out = tmp_path / "stft.h5"
    build(
        BuildConfig(
            effect="delay", source=str(audio_folder), max_clips=2, features=("mel", "stft")
        ),
        out,
        workers=1,
    )
    with open_dataset(out) as f:
        assert f["examples/wet_stft"].shape[1:] == FeatureConfig(kind="stft").shape(2 * SAMPLE_RATE)
        assert f["examples/wet_mel"].shape[1] == 128


def test_features_given_as_text_read_as_on_the_command_line():
    # A recipe's TOML and Python callers give the kinds as fxr build's option takes them.
    assert BuildConfig(effect="delay", features="levels,mel").features == ("levels", "mel")
    with pytest.raises(FxrError, match="--features"):
        BuildConfig(effect="delay", features="levels,wav")


def test_assign_splits_is_seeded_and_gives_every_split_a_key():
    keys = [f"take{i}" for i in range(10)]
    first = assign_splits(keys, (0.8, 0.1, 0.1), seed=1)
    assert first == assign_splits(keys, (0.8, 0.1, 0.1), seed=1)
    assert first != assign_splits(keys, (0.8, 0.1, 0.1), seed=2)
    assert sorted(np.bincount(list(first.values()))) == [1, 1, 8]
    small = assign_splits(["a", "b", "c"], (0.8, 0.1, 0.1), seed=0)
    assert sorted(small.values()) == [0, 1, 2]


class FailingEffect:
    """An effect that breaks halfway through a build, like a crash or Ctrl-C."""

    calls = 0

    @staticmethod
    def render(audio, sample_rate, x):
        FailingEffect.calls += 1
        if FailingEffect.calls > 20:
            raise KeyboardInterrupt
        return audio.copy()

    @fxregistry.hookimpl
    def register_effects(self, register):
        x = Parameter("x", "dB", (0.0, 1.0), (0.0, 1.0))
        register(Effect("fails", "breaks mid-build", (x,), render=FailingEffect.render))


def test_an_interrupted_build_leaves_nothing_that_looks_whole(tmp_path, audio_folder):
    registry.get_plugin_manager().register(FailingEffect(), name="failing")
    out = tmp_path / "fails.h5"
    with pytest.raises(KeyboardInterrupt):
        build(BuildConfig(effect="fails", source=str(audio_folder)), out, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_inspect_refuses_what_is_not_a_complete_fxr_dataset(tmp_path, delay_file):
    (tmp_path / "text.h5").write_text("hello")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with h5py.File(tmp_path / "partial.h5", "w") as f:
        f.attrs.update({"format": "fxr-dataset", "format_version": 1, "complete": False})
    with h5py.File(tmp_path / "future.h5", "w") as f:
        f.attrs.update({"format": "fxr-dataset", "format_version": 99, "complete": True})
    data = delay_file.read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    expected = {
        "text.h5": "not an fxr dataset (not an HDF5 file)",
        "other.h5": "not an fxr dataset",
        "partial.h5": "did not finish",
        "future.h5": "format version 99",
        "truncated.h5": "truncated",
        "missing.h5": "no such file",
    }
    for name, message in expected.items():
        result = run("inspect", tmp_path / name)
        assert result.exit_code == 2, name
        assert message in result.stderr, (name, result.stderr)
        with pytest.raises(FxrError):
            describe(tmp_path / name)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--effect", "dealy"], "unknown effect 'dealy' (did you mean 'delay'?)"),
        (["--effect", "delay", "--source", "synthh:3"], "unknown source 'synthh'"),
        (["--effect", "delay", "--source", "/no/such/folder"], "no such file or folder"),
        (["--effect", "delay", "--grid", "random:0"], "--grid must be 'paper' or 'random:N'"),
        (["--effect", "delay", "--level", "loud"], "--level must be"),
        (["--effect", "delay", "--max-clips", "0"], "--max-clips must be at least 1"),
        (["--effect", "delay", "--features", "cqt"], "--features takes mel, stft, levels"),
        (["--effect", "delay", "--split", "80/20"], "is not TRAIN/VALID/TEST"),
        (["--effect", "delay", "--source", "guitarset:/tmp"], "not a GuitarSet folder"),
    ],
)
def test_bad_build_input_is_one_clear_line_and_exit_2(tmp_path, args, message):
    result = run("build", *args, "--out", tmp_path / "x.h5")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.h5").exists()


def test_an_existing_dataset_is_not_replaced_without_force(tmp_path, audio_folder):
    out = tmp_path / "d.h5"
    out.write_bytes(b"precious")
    result = run("build", "--effect", "delay", "--source", audio_folder, "--out", out)
    assert result.exit_code == 2 and "exists; pass --force" in result.stderr
    assert out.read_bytes() == b"precious"


def test_strict_stops_at_an_unreadable_file(tmp_path, audio_folder):
    result = run(
        "build",
        "--effect",
        "delay",
        "--source",
        audio_folder,
        "--strict",
        "--workers",
        "1",
        "--out",
        tmp_path / "d.h5",
    )
    assert result.exit_code == 2
    assert "corrupt" in result.stderr and "--strict" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_build_command_writes_the_default_path_and_a_summary(tmp_path, audio_folder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(
        "build",
        "--effect",
        "sample-rate",
        "--source",
        f"folder:{audio_folder}",
        "--max-clips",
        "3",
        "--workers",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "datasets" / "sample-rate.h5").exists()
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"built {Path('datasets') / 'sample-rate.h5'}: ")
    assert "examples/s" in summary
    assert describe(tmp_path / "datasets" / "sample-rate.h5")["clips"] <= 3


# ---------------------------------------------------------------- the header

LEGACY = Path(__file__).parent / "data" / "legacy" / "dataset.h5"


@pytest.mark.parametrize("name", ["built", "legacy"])
def test_the_header_writes_back_every_attribute_it_read(tmp_path, delay_file, name):
    path = delay_file if name == "built" else LEGACY
    header = read_header(path)
    with h5py.File(tmp_path / "copy.h5", "w") as f:
        header.write(f)
    with h5py.File(tmp_path / "copy.h5") as copy, h5py.File(path) as original:
        assert DatasetHeader.read(copy, "copy.h5") == header
        assert sorted(copy.attrs) == sorted(original.attrs)
        for key, value in original.attrs.items():
            assert type(copy.attrs[key]) is type(value), key
            assert np.array_equal(copy.attrs[key], value), key


def test_a_header_round_trips_its_optional_and_unknown_attributes(tmp_path, delay_file):
    header = replace(
        read_header(delay_file),
        shard=(2, 3),
        merged_from=("shards/a.h5", "shards/b.h5"),
        extra={"written_by_a_later_fxr": "kept"},
    )
    with h5py.File(tmp_path / "h.h5", "w") as f:
        header.write(f)
    with h5py.File(tmp_path / "h.h5") as f:
        assert f.attrs["shard"] == "2/3"
        assert json.loads(f.attrs["merged_from"]) == ["shards/a.h5", "shards/b.h5"]
        assert DatasetHeader.read(f, "h.h5") == header


def test_the_header_types_what_the_file_holds(delay_file):
    header = read_header(delay_file)
    assert header.effect == "delay" and header.effect_spec["name"] == "delay"
    assert list(header.features) == ["mel"] and header.features["mel"] == FeatureConfig()
    assert header.non_rendering_effect().as_dict() == registry.get_effect("delay").as_dict()
    assert header.shard is None and header.merged_from is None and header.complete
    with open_dataset(delay_file) as f:
        for level in ("clips", "examples"):
            assert header.split_ranges(level) == split_ranges_of(f[f"{level}/split"][:])
    assert set(DatasetHeader.SHARED_BY_SHARDS) <= {field.name for field in fields(DatasetHeader)}


def test_a_file_missing_a_header_attribute_is_refused(tmp_path, delay_file):
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(delay_file.read_bytes())
    with h5py.File(damaged, "r+") as f:
        del f.attrs["effect_spec"]
    with pytest.raises(FxrError, match="no effect_spec attribute"):
        read_header(damaged)
