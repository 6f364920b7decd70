"""Blind evidence beyond the network: the echo check, and the checks' verdicts.

An effect that declares `linear` is a convolution with its impulse response,
whose echoes show in the wet's cepstrum; one that declares `projection`
leaves its own output in place (tests/test_fixed_point.py); one that
declares a `ceiling` holds the peaks it limits there. Each check can
confirm or refute that the effect processed the wet, and say at which
setting. Every registered effect that declares either is tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from fxregistry import Effect, Parameter, registry
from fxregistry.audio.io import resample, write_audio
from fxregistry.estimation import echoes, gathered
from fxregistry.estimation.echoes import (
    ECHO_SCORE,
    ECHO_SHARE,
    TRAIN_SCORE,
    confirms,
    echo_scores,
    echo_setting,
)
from fxregistry.estimation.estimate import read_inputs
from fxregistry.estimation.evidence import (
    CONFIRMED,
    LOCATED,
    REFUTED,
    blind_evidence,
    can_confirm,
)
from fxregistry.estimation.fixed_point import EXACT, fills_band, moves, strength
from fxregistry.estimation.search import search_settings

SAMPLE_RATE = 44100
EFFECTS = registry.effect_names()
LINEAR = [n for n in EFFECTS if registry.get_effect(n).linear]
PROJECTIONS = {n: registry.get_effect(n).projection for n in EFFECTS}
CEILINGS = [n for n in EFFECTS if registry.get_effect(n).ceiling is not None]
EXACT_PROJECTIONS = [n for n, p in PROJECTIONS.items() if p is not None and p <= EXACT]
SPECTRAL_PROJECTIONS = [n for n, p in PROJECTIONS.items() if p is not None and p > EXACT]
CONFIRMING = [n for n in EFFECTS if can_confirm(registry.get_effect(n))]
registry.reset()


def settings_of(effect):
    return effect.changing_grid()


@pytest.mark.parametrize("name", LINEAR)
def test_each_setting_s_echoes_are_found_at_that_setting(name, guitar):
    effect = registry.get_effect(name)
    for setting in settings_of(effect):
        found = echo_setting(effect, effect(guitar, SAMPLE_RATE, **setting))
        assert found["setting"] == setting
        assert found["score"] >= ECHO_SCORE, f"{name} {setting}: {found['score']:.1f}"
        assert found["share"] >= ECHO_SHARE, f"{name} {setting}: {found['share']:.3f}"
        assert blind_evidence(effect, effect(guitar, SAMPLE_RATE, **setting)).verdict == CONFIRMED


@pytest.mark.parametrize("name", LINEAR)
def test_audio_the_effect_never_processed_refutes_it(name, guitar):
    effect = registry.get_effect(name)
    untouched = [guitar, 0.01 * np.random.default_rng(0).standard_normal(guitar.size)]
    others = [
        registry.get_effect(other)(
            guitar, SAMPLE_RATE, **settings_of(registry.get_effect(other))[0]
        )
        for other in EFFECTS
        if other != name
    ]
    for wet in untouched + others:
        (_, scores), peak = echo_scores(effect, wet.astype(np.float32))
        assert scores.max() < ECHO_SCORE and peak < TRAIN_SCORE
        assert blind_evidence(effect, wet).verdict == REFUTED


def test_echoes_confirm_only_as_strong_as_an_echo_makes_them():
    # A band limit empties the noise the score is counted in: a faint repetition in the
    # music then scores as an echo does, at a hundredth of an echo's strength.
    found = {"setting": {}, "score": 52.0, "share": 0.009, "peak": 0.0}
    assert not confirms(found)
    assert confirms({**found, "share": 0.1})
    assert not confirms({**found, "score": ECHO_SCORE - 1, "share": 0.5})


@pytest.mark.parametrize("name", LINEAR)
def test_the_matched_filters_kept_are_bounded(name, guitar, monkeypatch):
    # One filter per setting and length, kept between estimates: a process that estimates
    # files of ever new lengths keeps the latest few, and each is as computed afresh.
    monkeypatch.setattr(echoes, "_cache", {})
    monkeypatch.setattr(echoes, "_CACHE_SIZE", 3)
    effect = registry.get_effect(name)
    setting = effect.changing_grid()[-1]
    for samples in range(12000, 12600, 100):  # longer than every grid delay
        kept = echoes._echoes(effect, setting, samples)
        assert len(echoes._cache) <= 3
    echoes._cache.clear()
    again = echoes._echoes(effect, setting, samples)
    assert kept is not None and again is not None
    np.testing.assert_array_equal(kept[0], again[0])


@pytest.mark.parametrize("name", LINEAR)
def test_echoes_between_two_settings_are_not_refuted(name, guitar):
    # A setting off the grid: its echoes fall between the grid's, where no matched
    # filter looks; the peak test still sees them.
    effect = registry.get_effect(name)
    a, b = settings_of(effect)[2:4]
    between = {k: (a[k] + b[k]) / 2 for k in a}
    evidence = blind_evidence(effect, effect(guitar, SAMPLE_RATE, **between))
    assert evidence.verdict != REFUTED, evidence
    # Nor confirmed: whether it was the effect is then the network's call, doubted.
    assert evidence.verdict == CONFIRMED or evidence.beyond_reach, evidence


@pytest.mark.parametrize("name", LINEAR)
def test_with_the_dry_the_echoes_are_the_wet_s_though_the_music_repeats_itself(name, guitar):
    # Music that repeats at one setting's echo times (the dry is itself a render at it),
    # processed at another: blind, the repeats stand in the wet's cepstrum beside the
    # effect's echoes; the dry's cepstrum takes them out.
    effect = registry.get_effect(name)
    for repeated in settings_of(effect):
        riff = effect(guitar, SAMPLE_RATE, **repeated)
        for setting in settings_of(effect):
            if setting != repeated:
                found = echo_setting(effect, effect(riff, SAMPLE_RATE, **setting), riff)
                assert confirms(found) and found["setting"] == setting, (repeated, setting)


@pytest.mark.parametrize("name", LINEAR)
def test_with_the_dry_a_faint_mix_of_the_effect_is_found_at_its_setting(name, guitar):
    # A wet blended with more of the dry than the effect's own mix: the same echo times,
    # weaker. The effect's render fits it worse than the dry does (the closest render
    # was the identity); refinement reads the setting off the pair's echoes.
    effect = registry.get_effect(name)
    for setting in settings_of(effect):
        wet = (0.1 * effect(guitar, SAMPLE_RATE, **setting) + 0.9 * guitar).astype(np.float32)
        found, _ = search_settings(effect, guitar, wet, setting)
        assert found == setting
        stereo = np.stack([guitar, guitar]), np.stack([wet, wet])
        assert search_settings(effect, *stereo, setting)[0] == setting


def test_an_effect_that_declares_no_check_gives_no_evidence(guitar):
    def render(audio, sample_rate, *, gain_db):
        return audio * np.float32(10 ** (gain_db / 20))

    level = Parameter("gain_db", "dB", grid=(-6.0, 0.0), range=(-6.0, 0.0))
    gain = Effect("gain", "a plain gain", (level,), render)
    assert blind_evidence(gain, gain(guitar, SAMPLE_RATE, gain_db=-6.0)) is None
    assert echo_scores(gain, guitar) is None


@pytest.mark.parametrize("name", CEILINGS)
def test_held_peaks_confirm_a_limiter_and_a_peak_below_its_ceiling_refutes_it(name, guitar):
    effect = registry.get_effect(name)
    for setting in settings_of(effect):
        hot = guitar / np.abs(guitar).max() * 2.0  # +6 dBFS: every setting limits it
        assert blind_evidence(effect, effect(hot, SAMPLE_RATE, **setting)).verdict == CONFIRMED
    quiet = (guitar / np.abs(guitar).max() * 10 ** (-30 / 20)).astype(np.float32)
    assert blind_evidence(effect, quiet).verdict == REFUTED


@pytest.mark.parametrize("name", CEILINGS)
def test_peaks_held_below_the_ceiling_after_a_level_change_still_confirm_it(name, guitar):
    # A limited track normalized afterwards: its held samples are no longer at the
    # ceiling, but still all at one level, the wet's peak; music has its peak once.
    effect = registry.get_effect(name)
    hot = guitar / np.abs(guitar).max() * 2.0
    for setting in settings_of(effect):
        turned_down = effect(hot, SAMPLE_RATE, **setting) * np.float32(10 ** (-4.2 / 20))
        evidence = blind_evidence(effect, turned_down)
        assert evidence.verdict == CONFIRMED, setting
        ceiling_db = 20 * np.log10(effect.ceiling)
        assert evidence.found["level_db"] == pytest.approx(ceiling_db - 4.2, abs=0.01)
    # Quieter than a gentle change of it (test_a_wet_above_the_gentle_peak_...), and at
    # full scale when the effect only ever limits.
    loudest = min(-1.0, (effect.gentle_peak_db or 0.0) - 0.5)
    for gain_db in (-20.0, (loudest - 20.0) / 2, loudest):
        music = (guitar / np.abs(guitar).max() * 10 ** (gain_db / 20)).astype(np.float32)
        assert blind_evidence(effect, music).verdict == REFUTED
        # Quantized to a few levels, music repeats its peak, as every other level.
        coarse = (np.round(music / music.max() * 3) / 3 * music.max()).astype(np.float32)
        assert np.sum(np.abs(coarse) == np.abs(coarse).max()) >= 3
        assert blind_evidence(effect, coarse).verdict == REFUTED


@pytest.mark.parametrize("name", [n for n in CEILINGS if registry.get_effect(n).gentle_peak_db])
def test_a_wet_above_the_gentle_peak_is_not_refuted_for_holding_no_peak(name, guitar):
    # An effect that can compress without reaching its ceiling: above its gentle peak,
    # no held peak says nothing; below, the wet is at most a gain change of its dry.
    effect = registry.get_effect(name)
    for offset_db, verdict in ((1.0, None), (-1.0, REFUTED)):
        level = 10 ** ((effect.gentle_peak_db + offset_db) / 20)
        music = (guitar / np.abs(guitar).max() * level).astype(np.float32)
        evidence = blind_evidence(effect, music)
        assert evidence.verdict == verdict, offset_db
        assert evidence.beyond_reach == (verdict is None)  # what it reads may not be there


@pytest.mark.parametrize("name", EXACT_PROJECTIONS)
def test_an_exact_fixed_point_confirms_the_effect_and_its_absence_refutes_it(name, guitar):
    effect = registry.get_effect(name)
    setting = settings_of(effect)[len(settings_of(effect)) // 2]
    evidence = blind_evidence(effect, effect(guitar, SAMPLE_RATE, **setting))
    assert evidence.verdict == CONFIRMED and evidence.check == "fixed_point"
    loud = (guitar / np.abs(guitar).max() * 0.9).astype(np.float32)  # never quantized
    assert blind_evidence(effect, loud).verdict == REFUTED


@pytest.mark.parametrize("name", EXACT_PROJECTIONS)
def test_a_level_change_after_an_exact_projection_still_confirms_it(name, guitar, tmp_path):
    from fxregistry.estimation.defaults import estimate_with_defaults

    effect = registry.get_effect(name)
    loud = (guitar / np.abs(guitar).max() * 0.9).astype(np.float32)
    setting = settings_of(effect)[len(settings_of(effect)) // 4]  # a coarse grid of levels
    normalized = effect(loud, SAMPLE_RATE, **setting) * np.float32(10 ** (-1.7 / 20))
    evidence = blind_evidence(effect, normalized)
    assert evidence.verdict == CONFIRMED and evidence.setting == setting
    assert evidence.found["gain_db"] == pytest.approx(-1.7, abs=0.01)
    if registry.registrations("estimator"):  # as fxr estimate says it, from a file
        result = estimate_with_defaults(write_audio(tmp_path / "n.wav", normalized, SAMPLE_RATE))
        assert (result["effect"], result["identified_by"]) == (name, "fixed_point")
        assert {k: p["value"] for k, p in result["parameters"].items()} == setting


def write_16_bit_as_most_tools_do(path, audio):
    """Full scale as 32768, negative and positive alike (libsndfile's convention); fxr's
    own writer, pedalboard's, takes 32767 for the positive half."""
    import wave

    samples = np.clip(np.round(audio * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(samples.tobytes())
    return path


@pytest.mark.parametrize("name", EXACT_PROJECTIONS)
def test_a_16_bit_file_of_an_exact_projection_s_output_confirms_its_setting(name, guitar, tmp_path):
    # Most audio is delivered at 16 bits: the samples are then within a step of the
    # setting's grid (writers round either way, decoders scale by 32767 or 32768), and
    # a setting finer than two of those steps is not told from the word length.
    effect = registry.get_effect(name)
    loud = (guitar / np.abs(guitar).max() * 0.9).astype(np.float32)
    ramp = np.linspace(-1, 1, 2**17 + 1, dtype=np.float32)
    writers = {
        "pedalboard": lambda path, audio: write_audio(path, audio, SAMPLE_RATE, bit_depth=16),
        "libsndfile": write_16_bit_as_most_tools_do,
    }
    tested = 0
    for setting in settings_of(effect):
        if np.diff(np.unique(effect(ramp, SAMPLE_RATE, **setting))).min() < 2 / 32768:
            continue
        wet = effect(loud, SAMPLE_RATE, **setting)
        for writer, write in writers.items():
            inputs = read_inputs(write(tmp_path / f"{writer}.wav", wet))
            assert inputs.word_bits == 16
            found = inputs.evidence(effect, wet.size)
            assert (found.verdict, found.setting) == (CONFIRMED, setting), (writer, setting)
        tested += 1
    assert tested >= 3
    for writer, write in writers.items():
        untouched = read_inputs(write(tmp_path / f"u-{writer}.wav", loud))
        assert untouched.evidence(effect, loud.size).verdict == REFUTED, writer
        quiet = loud * np.float32(10 ** (-45 / 20))  # a recording's own few levels
        untouched = read_inputs(write(tmp_path / f"q-{writer}.wav", quiet))
        assert untouched.evidence(effect, loud.size).verdict == REFUTED, writer
    # Normalized after the effect, then written at 16 bits: a scaled grid, rounded.
    coarse = settings_of(effect)[len(settings_of(effect)) // 4]
    normalized = effect(loud, SAMPLE_RATE, **coarse) * np.float32(10 ** (-1.7 / 20))
    inputs = read_inputs(write_audio(tmp_path / "n.wav", normalized, SAMPLE_RATE, bit_depth=16))
    found = inputs.evidence(effect, loud.size)
    assert (found.verdict, found.setting) == (CONFIRMED, coarse)


def test_a_lossy_file_keeps_only_the_checks_a_codec_leaves_standing(guitar, tmp_path):
    # Every sample of an mp3 moves: held peaks and fixed points can neither confirm nor
    # refute there, but a coarse quantizer's levels still gather the samples, and
    # echoes survive the codec.
    from fxregistry.estimation.defaults import estimate_with_defaults

    if not registry.registrations("estimator"):
        pytest.skip("no default estimators installed")
    loud = (guitar / np.abs(guitar).max() * 0.5).astype(np.float32)
    for name in [n for n in EFFECTS if PROJECTIONS[n] is not None] + CEILINGS:
        effect = registry.get_effect(name)
        assert blind_evidence(effect, loud, exact=False) is None
    crushed = registry.get_effect("bitcrusher")(loud, SAMPLE_RATE, bit_depth=6)
    write_audio(tmp_path / "crushed.mp3", crushed, SAMPLE_RATE)
    result = estimate_with_defaults(tmp_path / "crushed.mp3", device="cpu")
    assert result["evidence"]["bitcrusher"] == "confirmed"
    assert (result["effect"], result["identified_by"]) == ("bitcrusher", "fixed_point")
    assert result["parameters"]["bit_depth"]["value"] == 6
    delayed = registry.get_effect("delay")(loud, SAMPLE_RATE, delay_seconds=0.25)
    write_audio(tmp_path / "delayed.mp3", delayed, SAMPLE_RATE)
    assert estimate_with_defaults(tmp_path / "delayed.mp3", device="cpu")["evidence"] == {
        "delay": "confirmed"
    }


@pytest.mark.parametrize("name", EXACT_PROJECTIONS)
def test_in_an_mp3_a_quantizer_is_confirmed_where_its_levels_still_gather_the_samples(
    name, guitar, tmp_path
):
    # The codec's error grows with the music's level: under a step it leaves the samples
    # gathered at the setting's levels, which nothing else's output is (docs/estimate.md).
    effect = registry.get_effect(name)
    loud = (guitar / np.abs(guitar).max() * 10 ** (-6 / 20)).astype(np.float32)
    settings = settings_of(effect)
    middle = settings[len(settings) // 2]

    def evidence_of(audio):
        path = write_audio(tmp_path / "wet.mp3", audio.astype(np.float32), SAMPLE_RATE)
        return read_inputs(path).evidence(effect, audio.size)

    found = evidence_of(effect(loud, SAMPLE_RATE, **middle))
    assert (found.verdict, found.setting) == (CONFIRMED, middle)
    assert found.found["gathered"] >= gathered.GATHERED
    assert evidence_of(loud) is None  # untouched: the codec hides whether it was
    for other in EFFECTS:
        if other != name:
            rival = registry.get_effect(other)
            strong = settings_of(rival)[len(settings_of(rival)) // 2]
            found = evidence_of(rival(loud, SAMPLE_RATE, **strong))
            assert found is None or found.verdict != CONFIRMED, other


@pytest.mark.parametrize("name", CONFIRMING)
def test_a_stereo_file_is_checked_as_the_effect_left_each_channel(name, guitar, tmp_path):
    # Not on the channels' mean, which the networks hear: the mean of two quantized
    # channels falls between their steps, and a peak held in one is not held in it.
    effect = registry.get_effect(name)
    left = guitar / np.abs(guitar).max() * 10 ** (-2 / 20)
    right = 0.5 * left + 0.4 * np.roll(left, SAMPLE_RATE // 3)
    stereo = np.stack([left, right]).astype(np.float32)
    for setting in settings_of(effect):
        wet = effect(stereo, SAMPLE_RATE, **setting)
        alone = blind_evidence(effect, wet[0])
        path = write_audio(tmp_path / "wet.wav", wet, SAMPLE_RATE)  # float: the samples kept
        found = read_inputs(path).evidence(effect, wet.shape[-1])
        assert (found.verdict, found.setting) == (alone.verdict, alone.setting), setting


@pytest.mark.parametrize("name", CONFIRMING)
def test_a_file_at_another_rate_is_checked_at_its_own_rate(name, guitar, tmp_path):
    # Not resampled to 44.1 kHz first: a resampled quantized wet is not quantized
    # (a 48 kHz bitcrusher was refuted), and resampling moves held peaks off the ceiling.
    effect = registry.get_effect(name)
    dry = resample(guitar / np.abs(guitar).max() * 10 ** (-2 / 20), SAMPLE_RATE, 48000)
    for setting in settings_of(effect):
        wet = effect(dry, 48000, **setting)
        alone = blind_evidence(effect, wet, sample_rate=48000)
        if effect.projection is not None and effect.projection <= EXACT:
            assert (alone.verdict, alone.setting) == (CONFIRMED, setting)
        path = write_audio(tmp_path / "wet.wav", wet, 48000)
        found = read_inputs(path).evidence(effect, 2 * SAMPLE_RATE)
        assert (found.verdict, found.setting) == (alone.verdict, alone.setting), setting


@pytest.mark.parametrize("name", SPECTRAL_PROJECTIONS)
def test_a_band_limit_is_located_by_its_own_setting_though_a_stronger_one_is_in_place(name):
    # Quiet drum kits with little near the top of a band: a render at one setting is in
    # place at the next stronger one too, which is answered (the strongest in place), but
    # that one moves it further than the three quarters that locate. The render's own
    # setting holds it well within, so the band limit is located all the same.
    effect = registry.get_effect(name)
    ordered = sorted(effect.changing_grid(), key=lambda s: strength(effect, s))
    weaker, stronger = ordered[len(ordered) // 2], ordered[len(ordered) // 2 + 1]
    noise = np.random.default_rng(0).standard_normal(2 * SAMPLE_RATE).astype(np.float32)
    low = effect(noise, SAMPLE_RATE, **stronger)  # nothing between the two bands

    def rendered(peak_db: float) -> tuple[np.ndarray, float, float]:
        music = (low / np.abs(low).max() * 10 ** (peak_db / 20)).astype(np.float32)
        wet = effect(music, SAMPLE_RATE, **weaker)
        settings, moved = moves(effect, wet, SAMPLE_RATE)
        return wet, float(moved[settings.index(stronger)]), float(moved[settings.index(weaker)])

    quiet, loud = -80.0, 0.0  # the quieter, the less the stronger setting moves it
    for _ in range(30):
        wet, moved, own = rendered((quiet + loud) / 2)
        if moved > (LOCATED + 1) / 2 * effect.projection:
            loud = (quiet + loud) / 2
        else:
            quiet = (quiet + loud) / 2
    assert LOCATED * effect.projection < moved <= effect.projection
    assert own <= LOCATED * effect.projection
    found = blind_evidence(effect, wet)
    assert found.verdict != REFUTED and strength(effect, found.setting) > strength(effect, weaker)
    assert found.found["moved"] > LOCATED * effect.projection  # the answer's own: not within
    assert found.located


@pytest.mark.parametrize("name", SPECTRAL_PROJECTIONS)
def test_a_band_limit_is_located_in_a_float_file_and_under_16_bit_rounding_where_filled(
    name, guitar, tmp_path
):
    # A float file keeps whatever faint content lies above the band, so a render's fixed
    # point locates its setting. A 16-bit file's rounding buries it, and the check counts
    # the rounding as silence: music that never filled the band is then as much a fixed
    # point as the render, so the setting is located only where the music fills the band
    # to its top (a loud guitar does; the same guitar 57 dB down does not).
    effect = registry.get_effect(name)
    setting = settings_of(effect)[len(settings_of(effect)) // 2]
    for peak, bits, located in ((0.5, 24, True), (0.5, 16, True), (7e-4, 16, False)):
        music = (guitar / np.abs(guitar).max() * peak).astype(np.float32)
        wet = effect(music, SAMPLE_RATE, **setting)
        if bits == 24:
            assert blind_evidence(effect, wet).located
        path = write_audio(tmp_path / f"{bits}.wav", wet, SAMPLE_RATE, bit_depth=bits)
        found = read_inputs(path).evidence(effect, wet.size)
        assert found.verdict != REFUTED and found.located == located, (peak, bits)
        assert fills_band(effect, found.setting, wet, SAMPLE_RATE, 16) == located, (peak, bits)
