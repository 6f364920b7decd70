"""`fxr build --shard K/N` and `fxr merge`: shards merged equal the unsharded build."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import DatasetHeader, read_header
from fxregistry.dataset.summary import describe

CONFIG = BuildConfig(effect="delay", source="synth:5", clip_seconds=0.5, grid="random:3")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    build(CONFIG, folder / "whole.h5", workers=1)
    for k in (1, 2, 3):
        config = BuildConfig(**{**CONFIG.__dict__, "shard": (k, 3)})
        build(config, folder / f"part{k}.h5", workers=1)
    registry.reset()
    return folder


def datasets(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visit(lambda name: names.append(name) if isinstance(f[name], h5py.Dataset) else None)
    return names


@pytest.mark.parametrize("copy", [False, True])
def test_merged_shards_hold_exactly_the_unsharded_build(built, tmp_path, copy):
    out = tmp_path / "merged.h5"
    shards = [built / "part2.h5", built / "part3.h5", built / "part1.h5"]  # any order
    result = run("merge", out, *shards, *(["--copy"] if copy else []))
    assert result.exit_code == 0, result.output
    with h5py.File(built / "whole.h5") as whole, h5py.File(out) as merged:
        for name in datasets(whole):
            assert np.array_equal(whole[name][:], merged[name][:]), name
        assert merged["examples/wet_mel"].is_virtual is not copy
        for key, value in whole.attrs.items():
            if key != "created":
                assert np.array_equal(merged.attrs[key], value), key
    assert describe(out)["splits"] == describe(built / "whole.h5")["splits"]


def test_a_merged_file_whose_shard_went_missing_is_refused(built, tmp_path):
    for k in (1, 2, 3):
        (tmp_path / f"part{k}.h5").write_bytes((built / f"part{k}.h5").read_bytes())
    assert run("merge", tmp_path / "merged.h5", *tmp_path.glob("part*.h5")).exit_code == 0
    assert run("inspect", tmp_path / "merged.h5").exit_code == 0
    (tmp_path / "part2.h5").unlink()
    result = run("inspect", tmp_path / "merged.h5")
    assert result.exit_code == 2 and "part2.h5 is missing" in result.stderr


def test_shards_of_different_builds_or_an_incomplete_set_are_refused(built, tmp_path):
    other = tmp_path / "other.h5"
    build(BuildConfig(**{**CONFIG.__dict__, "seed": 1, "shard": (3, 3)}), other, workers=1)
    parts = [built / f"part{k}.h5" for k in (1, 2, 3)]
    cases = [
        ([parts[0], parts[1]], "shard 3/3 missing"),
        ([parts[0], parts[1], parts[1], parts[2]], "shard 2/3 given twice"),
        ([parts[0], parts[1], other], "their seed differ"),
        ([built / "whole.h5"], "not a shard"),
    ]
    for shards, message in cases:
        result = run("merge", tmp_path / "merged.h5", *shards)
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert not (tmp_path / "merged.h5").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shard", "4/3"], "1 <= K <= N"),
        (["--shard", "two/3"], "K/N"),
        (["--shard", "1/2", "--max-clips", "5"], "--max-clips cannot be combined"),
        (["--shard", "9/9", "--source", "synth:2"], "shard 9/9 is empty"),
    ],
)
def test_bad_shard_options_are_one_clear_line(tmp_path, args, message):
    result = run("build", "--effect", "delay", "--out", tmp_path / "x.h5", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def _changed(value, key):
    """Another value of the same kind, for a header field that shards must share."""
    if value is None:  # an optional field these files leave out
        return {"deliver": "16bit:0.5", "variants": 0.5}.get(key, ({"name": "another effect"},))
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (*value[:-1], value[-1] / 2)
    return {**value, "changed": next(iter(value.values()))}


@pytest.mark.parametrize("key", DatasetHeader.SHARED_BY_SHARDS)
def test_shards_that_disagree_on_a_shared_header_field_are_refused(built, tmp_path, key):
    odd = tmp_path / "part3.h5"
    odd.write_bytes((built / "part3.h5").read_bytes())
    header = read_header(odd)
    with h5py.File(odd, "r+") as f:
        replace(header, **{key: _changed(getattr(header, key), key)}).write(f)
    result = run("merge", tmp_path / "merged.h5", built / "part1.h5", built / "part2.h5", odd)
    assert result.exit_code == 2, result.output
    expected = "format version 2" if key == "format_version" else f"their {key} differ"
    assert expected in result.stderr
    assert not (tmp_path / "merged.h5").exists()


def test_a_merged_header_names_its_shards_and_round_trips(built, tmp_path):
    out = tmp_path / "merged.h5"
    assert run("merge", out, *(built / f"part{k}.h5" for k in (3, 1, 2))).exit_code == 0
    header = read_header(out)
    assert [Path(p).name for p in header.merged_from] == ["part1.h5", "part2.h5", "part3.h5"]
    assert header.shard is None and header.build_config["shard"] is None
    with h5py.File(tmp_path / "copy.h5", "w") as f:
        header.write(f)
    with h5py.File(tmp_path / "copy.h5") as f:
        assert DatasetHeader.read(f, "copy.h5") == header
