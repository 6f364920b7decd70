"""With the dry audio, analysis by synthesis says which effect made the wet.

Every registered effect is checked because it is registered: at each of its
settings, rendering the dry again names it where it changed the samples beyond
a gain, and says none where it did not; never another effect.
"""

from __future__ import annotations

import numpy as np
import pytest

from fxregistry import registry
from fxregistry.audio.features import mere_gain_change
from fxregistry.audio.io import SAMPLE_RATE, resample, word_step, write_audio
from fxregistry.dataset.identification import NONE
from fxregistry.estimation.estimate import read_inputs
from fxregistry.estimation.fixed_point import EXACT, coarser_than_word
from fxregistry.estimation.search import closest_grid_settings
from fxregistry.estimation.synthesis import (
    MARGIN_DB,
    MATCH_DB,
    decide,
    identify_by_synthesis,
    synthesis_fits,
)

EFFECTS = {name: reg.item for name, reg in registry.registrations("effect").items()}


@pytest.fixture(scope="module")
def loud(guitar):
    return (guitar / np.abs(guitar).max() * 10 ** (-2 / 20)).astype(np.float32)


def stereo(mono: np.ndarray) -> np.ndarray:
    """Two channels that differ, as a mix's do."""
    return np.stack([mono, 0.5 * mono + 0.4 * np.roll(mono, SAMPLE_RATE // 3)]).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_every_grid_setting_is_named_by_rendering_the_dry_again(name, channels, loud):
    # A stereo pair is rendered and compared channel by channel, as the effect made it.
    effect, dry = EFFECTS[name], loud if channels == 1 else stereo(loud)
    for setting in effect.changing_grid():
        wet = effect(dry, SAMPLE_RATE, **setting)
        found, fits = identify_by_synthesis(dry, wet, EFFECTS)
        assert found == (NONE if mere_gain_change(dry, wet) else name), (setting, fits)


def test_files_with_as_many_channels_are_compared_channel_by_channel(loud, tmp_path):
    # The mean of two quantized channels is not quantized: rendering the means again
    # would take 6 bits for 7 (and 10 for none).
    bitcrusher = EFFECTS.get("bitcrusher")
    if bitcrusher is None:
        pytest.skip("the built-in quantizer is not installed")
    dry = stereo(loud)
    for bits in (6.0, 10.0):
        wet = bitcrusher(dry, SAMPLE_RATE, bit_depth=bits)
        write_audio(tmp_path / "dry.wav", dry, SAMPLE_RATE)
        write_audio(tmp_path / "wet.wav", wet, SAMPLE_RATE)
        *pair, rate = read_inputs(tmp_path / "wet.wav", tmp_path / "dry.wav").synthesis_pair(
            dry.shape[-1]
        )
        # As much audio as a mono pair's, over the two channels.
        assert pair[0].shape == pair[1].shape == (2, dry.shape[-1] // 2)
        assert identify_by_synthesis(*pair, EFFECTS, rate)[0] == "bitcrusher"
        write_audio(tmp_path / "dry.wav", dry.mean(axis=0), SAMPLE_RATE)  # a mono take
        *pair, _ = read_inputs(tmp_path / "wet.wav", tmp_path / "dry.wav").synthesis_pair(
            dry.shape[-1]
        )
        assert pair[0].shape == pair[1].shape == (dry.shape[-1],)


def test_silencing_audio_is_a_change_not_a_gain_of_zero(loud):
    silence = np.zeros_like(loud)
    assert not mere_gain_change(loud, silence)
    assert mere_gain_change(silence, silence) and mere_gain_change(loud, 0.5 * loud)


def test_a_change_too_small_for_the_spectrogram_is_still_named(loud):
    # 15 bits moves no Mel band of a loud guitar by 0.1 dB, but every sample off its grid.
    wet = EFFECTS["bitcrusher"](loud, SAMPLE_RATE, bit_depth=15.0)
    assert not mere_gain_change(loud, wet)
    assert identify_by_synthesis(loud, wet, EFFECTS)[0] == "bitcrusher"


def test_a_16_bit_file_still_matches(loud):
    # The files a user hands over are rounded to 16 bits, the dry and the wet alike.
    def pcm16(audio):
        return (np.round(audio * 32767) / 32767).astype(np.float32)

    wet = EFFECTS["delay"](loud, SAMPLE_RATE, delay_seconds=0.25)
    found, fits = identify_by_synthesis(pcm16(loud), pcm16(wet), EFFECTS)
    assert found == "delay" and MATCH_DB <= fits["delay"] < 200


SPECTRAL = sorted(n for n, e in EFFECTS.items() if e.projection and e.projection > EXACT)


@pytest.mark.parametrize("name", SPECTRAL)
def test_a_16_bit_pair_s_band_limit_is_refined_to_its_setting(name, loud, tmp_path):
    # The wet file's rounding fills the band a band limit emptied; counted as audio,
    # it made the identity's render (the dry with its own rounding) the closest.
    from fxregistry.estimation.defaults import estimate_with_defaults, installed_estimators

    if not any(e.effect == name and e.needs_dry for e in installed_estimators()):
        pytest.skip(f"no paired default estimator for {name}")
    effect = EFFECTS[name]
    # A guitar with nothing above 6 kHz, as many solos: above it, only the rounding.
    quiet_top = resample(resample(loud, SAMPLE_RATE, 12000), 12000, SAMPLE_RATE)
    dry = write_audio(tmp_path / "dry.wav", quiet_top, SAMPLE_RATE, bit_depth=16)
    for setting in effect.changing_grid():
        wet = effect(quiet_top, SAMPLE_RATE, **setting)
        # Settings that make the same audio (every band limit above 6 kHz) are tied.
        tied = closest_grid_settings(effect, quiet_top, wet)
        wet = write_audio(tmp_path / "wet.wav", wet, SAMPLE_RATE, bit_depth=16)
        found = estimate_with_defaults(wet, dry, effect=name, refine=True, device="cpu")
        assert {k: p["grid_value"] for k, p in found["parameters"].items()} in tied, setting


EXACT_PROJECTIONS = sorted(n for n, e in EFFECTS.items() if e.projection and e.projection <= EXACT)


@pytest.mark.parametrize("name", EXACT_PROJECTIONS)
def test_a_16_bit_pair_of_a_quantizer_is_named_by_its_renders(name, loud, tmp_path):
    # The dry file is the effect's input rounded to 16 bits: quantized again, a sample
    # near a step's edge lands a step off the wet, and the render fit no better than
    # the dry did. Settings within a few of the file's steps are its own rounding.
    effect = EFFECTS[name]
    dry = write_audio(tmp_path / "dry.wav", loud, SAMPLE_RATE, bit_depth=16)
    tested = 0
    for setting in effect.changing_grid():
        if not coarser_than_word(effect, setting, SAMPLE_RATE, word_step(16)):
            continue
        wet = effect(loud, SAMPLE_RATE, **setting)
        if not np.any(wet):
            continue
        inputs = read_inputs(write_audio(tmp_path / "wet.wav", wet, SAMPLE_RATE, bit_depth=16), dry)
        d, w, rate = inputs.synthesis_pair(loud.size)
        found, fits = identify_by_synthesis(d, w, EFFECTS, rate, word_step(inputs.dry_word_bits))
        assert found == name, (setting, fits)
        tested += 1
    assert tested >= 3


def test_a_mere_gain_change_is_none_though_an_effect_renders_it(loud):
    # The limiter at 0 dB on audio peaking at -20 dBFS only makes it up: exact, yet no change.
    quiet = loud * 10 ** (-18 / 20)
    wet = EFFECTS["limiter"](quiet, SAMPLE_RATE, threshold_db=0.0, release_ms=500.0)
    found, fits = identify_by_synthesis(quiet, wet, EFFECTS)
    assert found == NONE and fits["limiter"] >= MATCH_DB
    assert identify_by_synthesis(loud, 0.5 * loud, EFFECTS)[0] == NONE


def test_a_setting_off_the_grid_decides_nothing(loud):
    wet = EFFECTS["delay"](loud, SAMPLE_RATE, delay_seconds=0.05)  # grid steps are 0.0357 s
    found, fits = identify_by_synthesis(loud, wet, EFFECTS)
    assert found is None and max(fits.values()) < MATCH_DB


def test_the_winner_must_match_and_beat_every_other_candidate_by_the_margin():
    assert decide({NONE: 5.0, "a": MATCH_DB, "b": MATCH_DB - MARGIN_DB}) == "a"
    assert decide({NONE: 5.0, "a": MATCH_DB - 1, "b": 0.0}) is None  # not close enough
    assert decide({NONE: 5.0, "a": 90.0, "b": 85.0}) is None  # two effects render it
    assert decide({NONE: 80.0, "a": 85.0}) == NONE  # the dry explains it as well
    assert decide({NONE: 80.0, "a": 200.0}) == "a"  # 15 bits: the dry is close, not exact


def test_an_effect_without_a_setting_that_changes_audio_never_wins(loud):
    fits = synthesis_fits(loud, loud, {})
    assert set(fits) == {NONE} and fits[NONE] == 200.0


def test_files_at_one_rate_are_rendered_at_it(loud, tmp_path):
    # At 44.1 kHz after resampling, a 48 kHz quantized wet is no render of the dry.
    bitcrusher = EFFECTS.get("bitcrusher")
    if bitcrusher is None:
        pytest.skip("the built-in quantizer is not installed")
    dry = resample(stereo(loud), SAMPLE_RATE, 48000)
    wet = bitcrusher(dry, 48000, bit_depth=8.0)
    write_audio(tmp_path / "dry.wav", dry, 48000)
    write_audio(tmp_path / "wet.wav", wet, 48000)
    *pair, rate = read_inputs(tmp_path / "wet.wav", tmp_path / "dry.wav").synthesis_pair(loud.size)
    assert rate == 48000 and pair[0].shape == pair[1].shape == (2, dry.shape[-1] // 2)
    assert identify_by_synthesis(*pair, EFFECTS, rate)[0] == "bitcrusher"
    write_audio(tmp_path / "dry.wav", stereo(loud), SAMPLE_RATE)  # the take at another rate
    *pair, rate = read_inputs(tmp_path / "wet.wav", tmp_path / "dry.wav").synthesis_pair(loud.size)
    assert rate == SAMPLE_RATE and pair[0].shape == pair[1].shape == (loud.size,)
