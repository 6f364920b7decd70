"""Every registered effect renders correctly: driven by the registry, so a new
effect plugin is tested here the moment it is installed."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fxregistry import Effect, registry
from fxregistry.audio.features import spectral_distance
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig
from fxregistry.dataset.header import read_header
from fxregistry.errors import ParameterError
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit
from fxregistry.training.runs import RunBundle

SAMPLE_RATE = 44100
EFFECTS = registry.effect_names()
# Every effect and every variant of one (Effect.variants): a variant keeps each promise
# its effect declares, which the blind checks and the builds rely on.
IMPLEMENTATIONS = EFFECTS + [
    f"{name}[{variant}]" for name in EFFECTS for variant in registry.get_effect(name).variants
]
registry.reset()

# Identity means "returns the dry signal": allow float32 rounding only.
IDENTITY_TOLERANCE = 1e-6
# Smallest multi-resolution log-spectral distance that counts as a change;
# a 15-bit quantization of the test guitar measures about 0.1, silence 0.
MEASURABLE_CHANGE = 1e-3


def settings_of(effect):
    return effect.changing_grid()


def implementation(name: str) -> Effect:
    """An entry of IMPLEMENTATIONS as an effect: ``delay``, or ``sample-rate[sinc]``."""
    effect, _, variant = name.rstrip("]").partition("[")
    return registry.get_effect(effect).variant(variant) if variant else registry.get_effect(effect)


def declaring(attribute: str) -> list[str]:
    return [n for n in IMPLEMENTATIONS if getattr(implementation(n), attribute)]


def test_the_study_effects_are_registered():
    assert {"limiter", "bitcrusher", "sample-rate", "delay"} <= set(EFFECTS)


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
@pytest.mark.parametrize("channels", [None, 1, 2])
def test_render_keeps_length_shape_and_dtype(name, channels, guitar):
    effect = implementation(name)
    audio = (
        guitar if channels is None else np.stack([guitar * (0.5 + c / 2) for c in range(channels)])
    )
    for setting in effect.grid()[:: max(1, len(effect.grid()) // 4)]:
        wet = effect(audio, SAMPLE_RATE, **setting)
        assert wet.shape == audio.shape
        assert wet.dtype == np.float32
        assert np.all(np.isfinite(wet))


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_render_is_deterministic(name, guitar):
    effect = implementation(name)
    for setting in settings_of(effect):
        first = effect(guitar, SAMPLE_RATE, **setting)
        second = effect(guitar.copy(), SAMPLE_RATE, **setting)
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", declaring("identity"))
def test_identity_setting_returns_the_dry_signal(name, guitar):
    effect = implementation(name)
    wet = effect(guitar, SAMPLE_RATE, **effect.identity)
    np.testing.assert_allclose(wet, guitar, rtol=0, atol=IDENTITY_TOLERANCE)


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_every_other_grid_setting_changes_the_audio_measurably(name, guitar):
    effect = implementation(name)
    for setting in settings_of(effect):
        wet = effect(guitar, SAMPLE_RATE, **setting)
        distance = spectral_distance(guitar, wet)
        assert distance > MEASURABLE_CHANGE, f"{name} {setting}: distance {distance:.2e}"


@pytest.mark.parametrize("name", declaring("projection"))
def test_a_projection_leaves_its_own_output_in_place(name, guitar):
    # What `projection` promises, and what the blind fixed-point check relies on.
    effect = implementation(name)
    for setting in settings_of(effect):
        wet = effect(guitar, SAMPLE_RATE, **setting)
        again = spectral_distance(effect(wet, SAMPLE_RATE, **setting), wet)
        assert again <= effect.projection, f"{name} {setting}: moved {again:.3f}"


@pytest.mark.parametrize("name", declaring("linear"))
def test_a_linear_effect_convolves_with_its_impulse_response(name, guitar):
    # What `linear` promises, and what the blind echo check relies on: the
    # output is the input convolved with the render of a unit impulse.
    effect = implementation(name)
    audio = guitar[: SAMPLE_RATE // 2]
    impulse = np.zeros_like(audio)
    impulse[0] = 1.0
    for setting in settings_of(effect):
        response = effect(impulse, SAMPLE_RATE, **setting)
        size = 2 * audio.size  # no circular wrap
        spectrum = np.fft.rfft(audio, size) * np.fft.rfft(response, size)
        convolved = np.fft.irfft(spectrum, size)[: audio.size]
        wet = effect(audio, SAMPLE_RATE, **setting)
        assert np.abs(wet - convolved).max() <= 1e-4 * np.abs(wet).max(), f"{name} {setting}"


@pytest.mark.parametrize("name", declaring("ceiling"))
def test_an_effect_with_a_ceiling_holds_what_it_limits_there(name, guitar):
    # What `ceiling` promises, and what the blind held-peaks check relies on.
    effect = implementation(name)
    hot = guitar / np.abs(guitar).max() * 2.0  # +6 dBFS: every setting limits it
    for setting in settings_of(effect):
        wet = np.abs(effect(hot, SAMPLE_RATE, **setting))
        assert wet.max() <= effect.ceiling * 1.0001, f"{name} {setting}"
        assert np.sum(wet >= effect.ceiling * 0.999) >= 3, f"{name} {setting}"


@pytest.mark.parametrize("name", declaring("gentle_peak_db"))
def test_a_change_that_holds_no_peak_peaks_at_or_above_the_gentle_peak(name, guitar):
    # What `gentle_peak_db` promises: below it, a wet with no held peak is the dry at
    # another level, so the held-peaks check may refute the effect there.
    effect = implementation(name)
    gentle, quietest = effect.gentle_peak_db, 0.0
    for level_db in np.arange(-20.0, 0.01, 1.0):
        dry = (guitar / np.abs(guitar).max() * 10 ** (level_db / 20)).astype(np.float32)
        for setting in settings_of(effect):
            wet = effect(dry, SAMPLE_RATE, **setting)
            if np.sum(np.abs(wet) >= effect.ceiling * 0.999) > 0:
                continue
            gain = float(np.dot(wet, dry) / np.dot(dry, dry))
            if np.abs(wet - gain * dry).max() <= 1e-4 * np.abs(wet).max():
                continue  # a mere gain change
            peak_db = 20 * np.log10(np.abs(wet).max())
            assert peak_db >= gentle, f"{name} {setting} at {level_db} dBFS: {peak_db:.2f} dBFS"
            quietest = min(quietest, peak_db)
    assert quietest < 0.0, "no gentle change found: the effect needs no gentle_peak_db"


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_render_rejects_out_of_range_missing_and_unknown_parameters(name, guitar):
    effect = implementation(name)
    setting = effect.grid()[0]
    first = effect.parameters[0]
    too_high = first.range[1] + (first.range[1] - first.range[0])
    with pytest.raises(ParameterError, match=f"{first.name} = .* is outside its range"):
        effect(guitar, SAMPLE_RATE, **{**setting, first.name: too_high})
    with pytest.raises(ParameterError, match="needs a value for"):
        effect(guitar, SAMPLE_RATE, **{k: v for k, v in setting.items() if k != first.name})
    with pytest.raises(ParameterError, match="has no parameter 'volume'"):
        effect(guitar, SAMPLE_RATE, **setting, volume=1.0)


def test_render_rejects_audio_that_is_not_one_or_two_dimensional():
    effect = registry.get_effect(EFFECTS[0])
    with pytest.raises(ParameterError, match="audio must be shaped"):
        effect(np.zeros((1, 2, 3), np.float32), SAMPLE_RATE, **effect.grid()[0])


def test_limiter_threshold_changes_the_level_of_a_hot_signal(guitar):
    """The study's limiter: a lower threshold reduces crest factor (peak / RMS)."""
    limiter = registry.get_effect("limiter")
    hot = guitar / np.abs(guitar).max()

    def crest(x):
        return np.abs(x).max() / np.sqrt(np.mean(x**2))

    crests = [crest(limiter(hot, SAMPLE_RATE, threshold_db=t, release_ms=500)) for t in (0, -5, -9)]
    assert crests[0] > crests[1] > crests[2]


def test_bitcrusher_quantizes_to_two_to_the_bit_depth_levels(guitar):
    bitcrusher = registry.get_effect("bitcrusher")
    for bits in (1, 2, 3, 4):
        levels = np.unique(bitcrusher(guitar, SAMPLE_RATE, bit_depth=bits))
        assert len(levels) <= 2**bits + 1


def test_sample_rate_removes_what_lies_above_the_target_nyquist():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    out = registry.get_effect("sample-rate")(tone, SAMPLE_RATE, target_khz=8)
    # 6 kHz lies above 8 kHz's Nyquist (4 kHz): almost nothing survives.
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 0.01 * np.sqrt(np.mean(tone**2))


def test_delay_repeats_an_impulse_after_the_delay_time():
    impulse = np.zeros(SAMPLE_RATE, np.float32)
    impulse[100] = 1.0
    delay_seconds = registry.get_effect("delay").parameters[0].grid[2]
    out = registry.get_effect("delay")(impulse, SAMPLE_RATE, delay_seconds=delay_seconds)
    later = np.argmax(np.abs(out[200:])) + 200
    assert abs(later - (100 + delay_seconds * SAMPLE_RATE)) <= 2


# ------------------------------------------------------------------ the features it is heard by


@pytest.mark.parametrize("name", EFFECTS)
def test_a_build_stores_the_features_the_effect_declares_and_fit_trains_on_the_first(
    name, tmp_path
):
    effect = implementation(name)
    data = tmp_path / "e.h5"
    build(BuildConfig(effect=name, source="synth:2", clip_seconds=0.25, max_clips=2), data)
    assert tuple(read_header(data).features) == effect.features
    run = tmp_path / "run"
    fit(FitConfig(model="cnn", data=str(data), input="wet", epochs=1), run)
    assert RunBundle.load(run).features.kind == effect.features[0]
    # Named on the command line, the kinds are the user's.
    build(
        BuildConfig(
            effect=name, source="synth:2", clip_seconds=0.25, max_clips=2, features=("stft",)
        ),
        tmp_path / "s.h5",
    )
    assert tuple(read_header(tmp_path / "s.h5").features) == ("stft",)


def test_an_effect_declares_only_known_feature_kinds_and_its_spec_keeps_them():
    render = registry.get_effect("delay").render
    parameters = registry.get_effect("delay").parameters
    with pytest.raises(ValueError, match="features must be some of mel, stft, levels"):
        Effect("x", "", parameters, render, features=("cqt",))
    with pytest.raises(ValueError, match="features"):
        Effect("x", "", parameters, render, features=())
    declared = Effect("x", "", parameters, render, features=("levels", "mel"))
    assert Effect.from_dict(declared.as_dict()).features == ("levels", "mel")
    older = {k: v for k, v in declared.as_dict().items() if k != "features"}  # older files
    assert Effect.from_dict(older).features == ("mel",)
    assert pickle.loads(pickle.dumps(declared)).features == ("levels", "mel")
