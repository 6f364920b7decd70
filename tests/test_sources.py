"""Dry-audio sources: folders of any audio, GuitarSet's layout, and every
registered source's contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fxregistry import registry
from fxregistry.audio.io import write_audio
from fxregistry.dataset.build import build
from fxregistry.dataset.clips import resolve_source
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import open_dataset
from fxregistry.errors import FxrError

from .conftest import tone_take

SAMPLE_RATE = 44100
GUITARSET_FILES = [
    "00_BN1-129-Eb_comp_mic.wav",
    "00_Funk2-108-Eb_solo_mic.wav",
    "01_Jazz3-137-Eb_comp_mic.wav",
    "02_Rock1-90-C#_solo_mic.wav",
    "03_SS2-107-Ab_comp_mic.wav",
    "04_BN3-154-E_solo_mic.wav",
    "05_Funk1-114-Ab_comp_mic.wav",
]


@pytest.fixture(scope="module")
def guitarset_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("GuitarSet")
    folder = root / "audio_mono-mic"
    folder.mkdir()
    for i, name in enumerate(GUITARSET_FILES):
        write_audio(folder / name, tone_take(4.2, SAMPLE_RATE, seed=i), SAMPLE_RATE)
    (folder / "README.txt").write_text("not a recording")
    (root / "annotation").mkdir()
    return root


def test_every_source_lists_recordings_with_unique_ids_and_picklable_loaders(
    audio_folder, guitarset_tree
):
    arguments = {"synth": "2", "folder": str(audio_folder), "guitarset": str(guitarset_tree)}
    for name, reg in registry.registrations("source").items():
        if name not in arguments:
            continue  # a third-party source: its own package tests it
        recordings = reg.item.recordings(arguments[name], 0)
        assert len({r.id for r in recordings}) == len(recordings) > 0
        for recording in recordings[:2]:
            pickle.dumps(recording.load)


def test_a_folder_yields_every_audio_file_as_mono_44k(audio_folder):
    source, argument = resolve_source(str(audio_folder))
    assert source.name == "folder"
    recordings = source.recordings(argument, 0)
    ids = ["a/one", "a/two", "b/corrupt", "b/four", "b/three", "five"]
    assert [r.id for r in recordings] == ids
    audio = {r.id: r.load() for r in recordings if r.id != "b/corrupt"}
    for take in audio.values():
        assert take.ndim == 1 and take.dtype == np.float32
    # a/two.flac was 5.5 s of stereo at 48 kHz
    assert abs(audio["a/two"].size - 5.5 * SAMPLE_RATE) <= 2
    assert abs(audio["b/three"].size - 6.5 * SAMPLE_RATE) <= 2
    with pytest.raises(FxrError, match="corrupt.wav: cannot decode audio"):
        recordings[2].load()


def test_folder_spec_prefix_and_bare_path_mean_the_same(audio_folder):
    assert resolve_source(f"folder:{audio_folder}")[0].name == "folder"
    assert resolve_source(str(audio_folder))[1] == str(audio_folder)


def test_guitarset_keeps_ids_and_groups_by_player(guitarset_tree):
    source, argument = resolve_source(f"guitarset:{guitarset_tree}")
    recordings = source.recordings(argument, 0)
    assert [r.id for r in recordings] == [n.removesuffix("_mic.wav") for n in GUITARSET_FILES]
    assert [r.group for r in recordings] == ["00", "00", "01", "02", "03", "04", "05"]
    same = source.recordings(str(guitarset_tree / "audio_mono-mic"), 0)
    assert [r.id for r in same] == [r.id for r in recordings]


def test_split_by_player_never_puts_a_player_in_two_splits(tmp_path, guitarset_tree):
    out = tmp_path / "gs.h5"
    build(
        BuildConfig(effect="bitcrusher", source=f"guitarset:{guitarset_tree}", split_by="group"),
        out,
        workers=1,
    )
    with open_dataset(out) as f:
        groups = f["recordings/group"][:].astype(str)
        splits = f["recordings/split"][:]
        ids = f["recordings/id"][:].astype(str)
    for player in set(groups):
        assert len(set(splits[groups == player])) == 1
    assert set(ids) <= {n.removesuffix("_mic.wav") for n in GUITARSET_FILES}
    assert len(set(splits)) == 3


def test_a_guitarset_path_without_recordings_is_a_clear_error(tmp_path):
    (tmp_path / "audio_mono-mic").mkdir()
    with pytest.raises(FxrError, match="no GuitarSet recordings"):
        resolve_source(f"guitarset:{tmp_path}")[0].recordings(str(tmp_path), 0)
