"""``fxr build --augment``: room, colour, noise, dynamics and silence on the dry clips, with dry
and wet still exactly paired, deterministic, recorded per clip and in the
file's provenance, and made again bit for bit from the source."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from fxregistry import registry
from fxregistry.cli.main import cli
from fxregistry.dataset.augment import (
    AUGMENTATIONS,
    AugmentPolicy,
    ColourSpec,
    DriveSpec,
    DynamicsSpec,
    NoiseSpec,
    RoomSpec,
    SilenceSpec,
    draw_augmentations,
    parse_augment,
    show_augment,
)
from fxregistry.dataset.augmented import augment_clip
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import open_dataset, read_header
from fxregistry.dataset.summary import describe
from fxregistry.errors import FxrError
from fxregistry.evaluation.examples import dry_clips

from .conftest import assert_example_is_its_dry_rendered, file_contents

SAMPLE_RATE = 44100
EFFECTS = registry.effect_names()
# Every augmentation on every clip, so that no test passes on a clip left as it was.
ALWAYS = AugmentPolicy(
    name="always",
    room=RoomSpec(probability=1.0),
    colour=ColourSpec(probability=1.0),
    noise=NoiseSpec(probability=1.0),
    dynamics=DynamicsSpec(probability=1.0),
    silence=SilenceSpec(probability=1.0),
    drive=DriveSpec(probability=1.0),
)
TINY = {"source": "synth:3", "clip_seconds": 0.25, "max_clips": 3}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def tiny(effect: str = "delay", **options) -> BuildConfig:
    return BuildConfig(effect=effect, **{**TINY, **options})


def assert_same_contents(a, b) -> None:
    first, second = file_contents(a), file_contents(b)
    assert first.keys() == second.keys()
    for name in first:
        assert np.array_equal(first[name], second[name]), name


# ------------------------------------------------------------------ the pair is exact


@pytest.mark.parametrize("name", EFFECTS)
def test_rendering_the_stored_augmented_dry_gives_the_stored_wet(tmp_path, name):
    build(tiny(name, augment=ALWAYS, keep_audio=True), tmp_path / "a.h5", workers=1)
    effect = registry.get_effect(name)
    with open_dataset(tmp_path / "a.h5") as f:
        records = [json.loads(r) for r in f["clips/augment"][:]]
        assert all(set(r) == set(AUGMENTATIONS) for r in records)
        examples = int(f.attrs["examples"])
        for example in sorted({0, examples // 2, examples - 1}):
            stored = f["examples/params"][example]
            # The grid setting stored (as float32) in this row.
            setting = next(
                s
                for s in effect.grid()
                if np.array_equal(np.float32([s[p] for p in effect.parameter_names]), stored)
            )
            assert_example_is_its_dry_rendered(f, example, effect, setting)


# ------------------------------------------------------------------ determinism


def test_an_augmented_build_is_the_same_for_a_seed_whatever_the_worker_count(tmp_path):
    config = tiny(augment="default", keep_audio=True, seed=4)
    build(config, tmp_path / "one.h5", workers=1)
    build(config, tmp_path / "two.h5", workers=2)
    assert_same_contents(tmp_path / "one.h5", tmp_path / "two.h5")


def test_different_seeds_augment_differently(tmp_path):
    for seed in (1, 2):
        build(tiny(augment=ALWAYS, seed=seed), tmp_path / f"{seed}.h5", workers=1)
    with h5py.File(tmp_path / "1.h5") as a, h5py.File(tmp_path / "2.h5") as b:
        assert list(a["clips/augment"][:]) != list(b["clips/augment"][:])


def test_a_build_augments_by_default_and_none_turns_it_off(tmp_path):
    base = ["build", "--effect", "delay", "--source", "synth:3", "--clip-seconds", "0.25"]
    base += ["--max-clips", "3", "--keep-audio", "--workers", "1"]
    assert run(*base, "--out", tmp_path / "plain.h5").exit_code == 0
    assert run(*base, "--augment", "default", "--out", tmp_path / "default.h5").exit_code == 0
    assert run(*base, "--augment", "none", "--out", tmp_path / "none.h5").exit_code == 0
    assert_same_contents(tmp_path / "plain.h5", tmp_path / "default.h5")
    with h5py.File(tmp_path / "plain.h5") as a, h5py.File(tmp_path / "default.h5") as b:
        assert "clips/augment" in a
        for key in set(a.attrs) - {"created"}:
            assert np.array_equal(a.attrs[key], b.attrs[key]), key
    with h5py.File(tmp_path / "none.h5") as none:
        assert "clips/augment" not in none
        assert json.loads(none.attrs["augment"])["name"] == "none"


def test_augmenting_keeps_each_clips_level_draw_and_settings(tmp_path):
    options = {"level": "random:-30:-3", "grid": "random:2", "keep_audio": True}
    build(tiny("limiter", **options), tmp_path / "plain.h5", workers=1)
    build(tiny("limiter", augment=ALWAYS, **options), tmp_path / "a.h5", workers=1)
    with h5py.File(tmp_path / "plain.h5") as plain, h5py.File(tmp_path / "a.h5") as a:
        # The augmentation changed the dry clips, but not their settings or peaks.
        assert not np.allclose(plain["clips/audio"][:], a["clips/audio"][:], atol=1e-4)
        assert np.array_equal(plain["examples/params"][:], a["examples/params"][:])
        peaks = [20 * np.log10(np.abs(f["clips/audio"][:]).max(axis=1)) for f in (plain, a)]
        np.testing.assert_allclose(peaks[0], peaks[1], atol=1e-4)


# ------------------------------------------------------------------ provenance


def test_the_policy_is_stored_in_full_and_shown_by_inspect(tmp_path):
    out = tmp_path / "a.h5"
    build(tiny(augment="room,noise"), out, workers=1)
    policy = parse_augment("room,noise")
    header = read_header(out)
    assert header.augment_policy() == policy and policy.colour is None
    assert header.augment["room"]["room_size"] == list(RoomSpec().room_size)
    assert header.build_config["augment"] == header.augment
    assert AugmentPolicy.from_dict(describe(out)["augment"]) == policy
    text = run("inspect", out)
    assert text.exit_code == 0
    assert "augment    room,noise (room p=0.5, noise p=0.5)" in text.output
    with h5py.File(out) as f:
        records = [json.loads(r) for r in f["clips/augment"][:]]
    assert len(records) == 3 and all(set(r) <= {"room", "noise"} for r in records)


def test_a_file_without_the_attribute_reads_as_not_augmented(tmp_path):
    out = tmp_path / "old.h5"
    build(tiny(), out, workers=1)
    with h5py.File(out, "r+") as f:
        del f.attrs["augment"]
    assert read_header(out).augment_policy() == AugmentPolicy()
    assert describe(out)["augment"]["name"] == "none"


# ------------------------------------------------------------------ remade clips


def test_clips_made_again_from_the_source_equal_the_stored_ones(tmp_path):
    build(tiny(augment=ALWAYS, keep_audio=True, clip_seconds=0.5), tmp_path / "kept.h5", workers=1)
    build(tiny(augment=ALWAYS, clip_seconds=0.5), tmp_path / "lean.h5", workers=1)
    rows = np.array([2, 0, 1])
    assert np.array_equal(
        dry_clips(tmp_path / "kept.h5", rows), dry_clips(tmp_path / "lean.h5", rows)
    )


# ------------------------------------------------------------------ the policy and its parts


@pytest.mark.parametrize("text", ["none", "default", "noise,room", "colour"])
def test_a_policy_reads_back_from_its_text_and_its_json(text):
    policy = parse_augment(text)
    assert parse_augment(show_augment(policy)) == policy
    assert AugmentPolicy.from_json(policy.to_json()) == policy


def test_default_is_every_augmentation_but_silence_and_none_is_nothing():
    every = AugmentPolicy(
        name="default",
        room=RoomSpec(),
        colour=ColourSpec(),
        noise=NoiseSpec(),
        dynamics=DynamicsSpec(),
    )
    assert parse_augment("default") == every
    assert parse_augment("none") == AugmentPolicy() and not AugmentPolicy().active
    # On by default: measured better on real recordings (docs/real-audio.md).
    assert BuildConfig(effect="delay").augment == every


@pytest.mark.parametrize("text", ["roomy", "room,room", "", "room,", "none,room"])
def test_a_bad_policy_is_refused(text):
    with pytest.raises(FxrError, match="--augment must be"):
        parse_augment(text)


def test_a_bad_augment_option_is_one_line_with_exit_status_2(tmp_path):
    result = run("build", "--effect", "delay", "--augment", "roomy", "--out", tmp_path / "x.h5")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "fxr: error: --augment must be 'none', 'default' or a comma list of room, colour, "
        "noise, dynamics, silence, drive, got 'roomy'"
    ]
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("kind", ["white", "pink"])
def test_the_noise_floor_sits_at_the_drawn_level_below_the_clip(kind):
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    audio = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = NoiseSpec(probability=1.0, level_db=(-40.0, -40.0), pink_share=float(kind == "pink"))
    policy = AugmentPolicy(name="noise", noise=noise)
    clip, drawn = augment_clip(audio, 0, audio.size, policy, np.random.default_rng(0), SAMPLE_RATE)
    assert drawn == {"noise": {"kind": kind, "level_db": -40.0}}
    added = clip.astype(np.float64) - audio
    ratio_db = 10 * np.log10(np.mean(added**2) / np.mean(audio.astype(np.float64) ** 2))
    assert ratio_db == pytest.approx(-40.0, abs=0.01)


def test_a_clip_that_draws_nothing_is_returned_as_it_was():
    audio = np.random.default_rng(0).standard_normal(2000).astype(np.float32)
    policy = AugmentPolicy(name="never", room=RoomSpec(probability=0.0))
    clip, drawn = augment_clip(audio, 1000, 500, policy, np.random.default_rng(0), SAMPLE_RATE)
    assert drawn == {} and np.array_equal(clip, audio[1000:1500])


def test_dynamics_swell_and_dip_the_clip_down_to_the_drawn_depth_and_back_to_0_db():
    audio = np.full(SAMPLE_RATE, 0.5, np.float32)
    spec = DynamicsSpec(probability=1.0, depth_db=(30.0, 30.0))
    policy = AugmentPolicy(name="dynamics", dynamics=spec)
    for seed in range(5):
        clip, drawn = augment_clip(audio, 0, audio.size, policy, np.random.default_rng(seed), 44100)
        gain_db = 20 * np.log10(clip / audio)
        assert set(drawn) == {"dynamics"} and len(drawn["dynamics"]["at"]) >= 2
        assert gain_db.max() == pytest.approx(0.0, abs=0.01)
        assert -30.0 - 1e-3 <= gain_db.min() < -0.1


def test_silence_is_gaps_of_exact_zeros_of_the_drawn_share_faded_in_and_out():
    audio = np.full(2 * SAMPLE_RATE, 0.5, np.float32)
    spec = SilenceSpec(probability=1.0, share=(0.2, 0.2), fade_ms=(10.0, 10.0))
    policy = AugmentPolicy(name="silence", silence=spec)
    fade = int(0.010 * SAMPLE_RATE)
    for seed in range(5):
        clip, drawn = augment_clip(audio, 0, audio.size, policy, np.random.default_rng(seed), 44100)
        gaps = drawn["silence"]["gaps"]
        assert set(drawn) == {"silence"} and 1 <= len(gaps) <= 3
        assert sum(b - a for a, b in gaps) == pytest.approx(0.2)
        silent = clip == 0
        # The gaps (overlapping ones counted once), and nothing else, are exactly zero...
        inside = np.zeros(audio.size, bool)
        for a, b in gaps:
            inside[int(a * audio.size) : int(b * audio.size)] = True
        assert np.array_equal(silent, inside)
        # ...reached by fades no longer than drawn; beyond them the clip is as it was.
        near = np.convolve(inside, np.ones(2 * fade + 1), mode="same") > 0
        assert np.array_equal(clip[~near], audio[~near])
        assert np.all((clip[near] >= 0) & (clip[near] <= 0.5))


@pytest.mark.parametrize("kind", ["soft", "hard"])
def test_drive_saturates_or_clips_the_clip_the_drawn_depth_past_its_peak(kind):
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) * np.linspace(0.2, 1, t.size)).astype(np.float32)
    spec = DriveSpec(probability=1.0, drive_db=(6.0, 6.0), soft_share=float(kind == "soft"))
    policy = AugmentPolicy(name="drive", drive=spec)
    clip, drawn = augment_clip(audio, 0, audio.size, policy, np.random.default_rng(0), 44100)
    assert drawn == {"drive": {"drive_db": 6.0, "kind": kind}}
    peak, gain = float(np.abs(audio).max()), 10 ** (6 / 20)
    if kind == "soft":  # tanh, the peak driven 6 dB into it
        expected = np.tanh(gain * audio / peak) / np.tanh(gain) * peak
    else:  # flat at 6 dB below the peak, then turned back up to it
        expected = np.clip(audio, -peak / gain, peak / gain) * gain
    assert np.abs(clip).max() == pytest.approx(peak, rel=1e-5)
    np.testing.assert_allclose(clip, expected, atol=1e-5)


@pytest.mark.parametrize("last", ["dynamics", "silence", "drive"])
def test_a_later_augmentation_leaves_what_the_earlier_ones_draw(last):
    from fxregistry.dataset.augment import AUGMENTATIONS

    earlier = AUGMENTATIONS[: AUGMENTATIONS.index(last)]
    plain = AugmentPolicy(name="plain", **{k: getattr(ALWAYS, k) for k in earlier})
    with_it = AugmentPolicy(name="with", **{k: getattr(ALWAYS, k) for k in (*earlier, last)})
    drawn = [draw_augmentations(p, np.random.default_rng(3)) for p in (plain, with_it)]
    assert last in drawn[1]
    del drawn[1][last]
    assert drawn[0] == drawn[1]


def test_every_augmentation_has_a_spec_and_a_draw():
    from fxregistry.dataset.augment import AUGMENTATIONS, DRAWS

    assert tuple(DRAWS) == AUGMENTATIONS
