"""An effect's variants: other implementations of the same settings (Effect.variants).

A build renders a share of its examples by them (``--variants``), with the
pair exact under the one drawn, deterministic for a seed and recorded in the
file; the blind fixed-point check finds the settings they made. Driven by the
registry: every effect that declares variants is tested because it does.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

from fxregistry import registry
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import open_dataset, read_header
from fxregistry.dataset.summary import describe
from fxregistry.errors import FxrError
from fxregistry.estimation.evidence import REFUTED, blind_evidence
from fxregistry.estimation.search import search_settings
from fxregistry.estimation.synthesis import identify_by_synthesis

from .conftest import file_contents

SAMPLE_RATE = 44100
WITH_VARIANTS = [n for n in registry.effect_names() if registry.get_effect(n).variants]
registry.reset()
TINY = {"source": "synth:3", "clip_seconds": 0.5, "max_clips": 3, "keep_audio": True}


def tiny(effect: str, **options) -> BuildConfig:
    return BuildConfig(effect=effect, **{**TINY, **options})


def stored_setting(f, example: int, effect) -> dict[str, float]:
    """The grid setting row ``example`` of the open dataset ``f`` stores (as float32)."""
    row = f["examples/params"][example].tolist()
    return {p.name: p.snap(v) for p, v in zip(effect.parameters, row, strict=True)}


def renderers_of(f, example: int, effect) -> list[str]:
    """Which of the effect's implementations render the stored dry of ``example`` to its
    stored wet: "own" and the names of its variants."""
    setting = stored_setting(f, example, effect)
    dry = f["clips/audio"][int(f["examples/clip"][example])]
    wet = f["examples/audio"][example]
    ways = {"own": effect, **{n: effect.variant(n) for n in effect.variants}}
    with threadpool_limits(1):  # as every build computes (fxregistry.dataset.pool)
        renders = {n: way(dry, SAMPLE_RATE, **setting) for n, way in ways.items()}
    return [n for n, render in renders.items() if np.allclose(render, wet, atol=1e-6)]


def test_the_study_sample_rate_has_another_resampler_as_a_variant():
    assert "sample-rate" in WITH_VARIANTS


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_a_variant_is_the_effect_rendered_another_way(name, guitar):
    effect = registry.get_effect(name)
    for variant in effect.variants:
        other = effect.variant(variant)
        assert other.name == f"{name}[{variant}]"
        assert other.parameters == effect.parameters and other.identity == effect.identity
        assert (other.projection, other.linear, other.ceiling) == (
            effect.projection,
            effect.linear,
            effect.ceiling,
        )
        setting = effect.changing_grid()[0]
        expected = effect.variants[variant](guitar, float(SAMPLE_RATE), **setting)
        np.testing.assert_array_equal(other(guitar, SAMPLE_RATE, **setting), expected)
        assert not np.allclose(expected, effect(guitar, SAMPLE_RATE, **setting), atol=1e-4)
    with pytest.raises(FxrError, match=f"its variants: {', '.join(effect.variants)}"):
        effect.variant("no-such-variant")


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_a_variant_survives_the_trip_to_a_build_worker_and_to_a_stored_spec(name):
    import pickle

    from fxregistry import Effect

    effect = registry.get_effect(name)
    assert pickle.loads(pickle.dumps(effect)).variants.keys() == effect.variants.keys()
    stored = Effect.from_dict(effect.as_dict())
    assert list(stored.variants) == list(effect.variants)
    with pytest.raises(FxrError, match="not installed"):
        stored.variant(next(iter(effect.variants)))(
            np.zeros(8, np.float32), 44100.0, **effect.grid()[0]
        )


# ------------------------------------------------------------------ builds


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_with_every_example_drawn_a_variant_each_wet_is_its_dry_rendered_by_one(tmp_path, name):
    build(tiny(name, variants=1.0), tmp_path / "v.h5", workers=1)
    effect = registry.get_effect(name)
    identity = None if effect.identity is None else dict(effect.identity)
    with open_dataset(tmp_path / "v.h5") as f:
        for example in range(int(f.attrs["examples"])):
            setting = stored_setting(f, example, effect)
            found = renderers_of(f, example, effect)
            if setting == identity:
                assert "own" in found  # the identity leaves the clip as it was, whoever renders
            else:
                assert found and "own" not in found, (example, setting, found)


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_a_share_renders_some_examples_each_way_the_same_ones_for_a_seed(tmp_path, name):
    build(tiny(name, variants=0.5, seed=3), tmp_path / "a.h5", workers=1)
    build(tiny(name, variants=0.5, seed=3), tmp_path / "b.h5", workers=2)
    first, second = file_contents(tmp_path / "a.h5"), file_contents(tmp_path / "b.h5")
    for key in first:
        assert np.array_equal(first[key], second[key]), key
    effect = registry.get_effect(name)
    with open_dataset(tmp_path / "a.h5") as f:
        ways = [renderers_of(f, e, effect) for e in range(int(f.attrs["examples"]))]
    assert any(w == ["own"] for w in ways) and any("own" not in w for w in ways)


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_variants_keep_each_clips_level_and_settings(tmp_path, name):
    build(tiny(name, seed=2, variants=0.0), tmp_path / "own.h5", workers=1)
    build(tiny(name, seed=2, variants=0.5), tmp_path / "mixed.h5", workers=1)
    own, mixed = file_contents(tmp_path / "own.h5"), file_contents(tmp_path / "mixed.h5")
    for key in ("clips/audio", "examples/params", "examples/clip", "examples/split"):
        assert np.array_equal(own[key], mixed[key]), key


def test_the_share_is_recorded_and_shown_and_absent_without_variants(tmp_path):
    build(tiny("sample-rate", variants=0.25), tmp_path / "v.h5", workers=1)
    build(tiny("sample-rate", variants=0.0), tmp_path / "n.h5", workers=1)
    assert read_header(tmp_path / "v.h5").variants == 0.25
    assert read_header(tmp_path / "n.h5").variants is None
    with open_dataset(tmp_path / "n.h5") as f:
        assert "variants" not in f.attrs
    assert describe(tmp_path / "v.h5")["variants"] == 0.25
    shown = CliRunner().invoke(cli, ["inspect", str(tmp_path / "v.h5")])
    assert "variants   0.25 of the examples" in shown.output


WITHOUT_VARIANTS = [n for n in registry.effect_names() if not registry.get_effect(n).variants]


def test_by_default_half_the_examples_may_be_a_variants_and_an_effect_without_is_as_it_was(
    tmp_path,
):
    assert BuildConfig(effect="sample-rate").variants == 0.5
    build(tiny(WITH_VARIANTS[0], seed=4), tmp_path / "v.h5", workers=1)
    assert read_header(tmp_path / "v.h5").variants == 0.5
    # Nothing to draw: the same file as without variants, and no share recorded.
    plain = WITHOUT_VARIANTS[0]
    build(tiny(plain, seed=4), tmp_path / "default.h5", workers=1)
    build(tiny(plain, seed=4, variants=0.0), tmp_path / "none.h5", workers=1)
    assert read_header(tmp_path / "default.h5").variants is None
    default, none = file_contents(tmp_path / "default.h5"), file_contents(tmp_path / "none.h5")
    assert default.keys() == none.keys()
    for key in default:
        assert np.array_equal(default[key], none[key]), key


@pytest.mark.parametrize("share", ["-0.1", "1.5", "many"])
def test_a_bad_share_is_one_line_and_exit_2(tmp_path, share):
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--effect",
            "sample-rate",
            "--source",
            "synth:1",
            "--variants",
            share,
            "--out",
            str(tmp_path / "x.h5"),
        ],
    )
    assert result.exit_code == 2
    assert "variants" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.h5").exists()


# ------------------------------------------------------------------ the blind check


@pytest.mark.parametrize("name", [n for n in WITH_VARIANTS if registry.get_effect(n).projection])
def test_the_fixed_point_check_finds_the_setting_a_variant_made(name, guitar):
    effect = registry.get_effect(name)
    for variant in effect.variants:
        for setting in effect.changing_grid():
            wet = effect.variant(variant)(guitar, SAMPLE_RATE, **setting)
            evidence = blind_evidence(effect, wet)
            assert evidence.verdict != REFUTED, (variant, setting)
            assert evidence.setting == setting, (variant, setting, evidence.found)


# ------------------------------------------------------------------ with the dry


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_analysis_by_synthesis_names_the_effect_and_setting_a_variant_made(name, guitar):
    effect = registry.get_effect(name)
    installed = {n: registry.get_effect(n) for n in registry.effect_names()}
    for variant in effect.variants:
        for setting in effect.changing_grid()[:: max(1, len(effect.changing_grid()) // 3)]:
            wet = effect.variant(variant)(guitar, SAMPLE_RATE, **setting)
            decided, fits = identify_by_synthesis(guitar, wet, installed)
            assert decided == name, (variant, setting, fits)
            found, _ = search_settings(effect, guitar, wet, effect.grid()[0])
            assert found == setting, (variant, setting)
