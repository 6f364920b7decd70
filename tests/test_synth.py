"""The built-in synthesizer: deterministic takes from a band of instrument families."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from fxr_plugins.synth import FAMILIES, lineup, synthesize_take
from fxr_plugins.synth.music import draw_plan

from fxregistry import registry
from fxregistry.errors import FxrError

SAMPLE_RATE = 44100


@pytest.fixture(scope="module")
def takes():
    recordings = registry.get_source("synth").recordings("3", 11)
    return recordings, [r.load() for r in recordings]


def test_takes_are_named_recordings_of_ten_to_thirty_seconds(takes):
    recordings, audio = takes
    assert [r.id for r in recordings] == ["synth-000", "synth-001", "synth-002"]
    for a in audio:
        assert a.dtype == np.float32 and a.ndim == 1
        assert 10 * SAMPLE_RATE <= a.size <= 30 * SAMPLE_RATE
        assert np.all(np.isfinite(a)) and np.max(np.abs(a)) <= 1.0


def test_same_seed_same_take_and_takes_differ(takes):
    recordings, audio = takes
    again = registry.get_source("synth").recordings("3", 11)
    np.testing.assert_array_equal(again[1].load(), audio[1])
    other_seed = registry.get_source("synth").recordings("3", 12)[1].load()
    assert other_seed.size != audio[1].size or not np.array_equal(other_seed, audio[1])
    assert not np.array_equal(audio[0][:SAMPLE_RATE], audio[1][:SAMPLE_RATE])


def test_takes_are_audible_and_vary_in_level(takes):
    _, audio = takes
    rms = [20 * np.log10(np.sqrt(np.mean(a.astype(np.float64) ** 2))) for a in audio]
    assert all(level > -50 for level in rms)
    assert max(rms) - min(rms) > 1.0


@pytest.fixture(scope="module")
def family_takes():
    """Take 2 of seed 11 played by every family alone."""
    return {family: synthesize_take(11, 2, families=(family,)) for family in FAMILIES}


def test_the_acoustic_guitar_has_a_guitar_like_spectrum(family_takes):
    """Harmonic peaks, most energy below 5 kHz, but far from a pure tone."""
    a = family_takes["acoustic-guitar"][: SAMPLE_RATE * 8].astype(np.float64)
    power = np.abs(np.fft.rfft(a * np.hanning(a.size))) ** 2
    freqs = np.fft.rfftfreq(a.size, 1 / SAMPLE_RATE)
    assert power[freqs < 5000].sum() / power.sum() > 0.8
    assert power[freqs > 2000].sum() / power.sum() > 1e-4  # bright pluck transients
    # Many distinct spectral peaks (notes and their harmonics), not one sinusoid.
    strong = power > 0.01 * power.max()
    peaks = np.sum(strong[1:-1] & (power[1:-1] > power[:-2]) & (power[1:-1] > power[2:]))
    assert peaks > 20


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_alone_is_audible_mono_float32_that_does_not_clip(family, family_takes):
    audio = family_takes[family]
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 10 * SAMPLE_RATE <= audio.size <= 30 * SAMPLE_RATE
    assert np.all(np.isfinite(audio))
    peak_db = 20 * np.log10(np.max(np.abs(audio)))
    assert -21 < peak_db < -0.9  # peaks are drawn from -20...-1 dBFS, plus the noise floor
    # Sound most of the time, not one burst: a tenth of the take's 100 ms frames or more
    # stand 30 dB above the noise floor.
    frames = audio[: audio.size // 4410 * 4410].reshape(-1, 4410).astype(np.float64)
    rms_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    assert np.mean(rms_db > peak_db - 40) > 0.5


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_is_deterministic_and_differs_across_takes(family, family_takes):
    np.testing.assert_array_equal(synthesize_take(11, 2, families=(family,)), family_takes[family])
    other = synthesize_take(11, 3, families=(family,))
    assert other.size != family_takes[family].size or not np.array_equal(
        other, family_takes[family]
    )


def test_families_sound_different(family_takes):
    """The families are not one timbre: their spectral centroids span an octave."""

    def centroid(audio):
        power = np.abs(np.fft.rfft(audio[: 8 * SAMPLE_RATE].astype(np.float64))) ** 2
        return np.sum(np.fft.rfftfreq(8 * SAMPLE_RATE, 1 / SAMPLE_RATE) * power) / power.sum()

    centroids = {family: centroid(audio) for family, audio in family_takes.items()}
    assert centroids["bass"] < centroids["acoustic-guitar"]
    assert max(centroids.values()) / min(centroids.values()) > 2


def test_a_band_mix_sums_its_parts_on_one_grid():
    band = ("drums", "bass", "keys", "electric-guitar")
    mix = synthesize_take(4, 0, families=band)
    assert mix.dtype == np.float32 and np.isfinite(mix).all()
    assert 0 < np.max(np.abs(mix)) < 1
    lineups = [lineup(np.random.default_rng([4, i])) for i in range(200)]
    sizes = {len(members) for members in lineups}
    assert sizes == {1, 2, 3, 4}
    assert all(len(set(members)) == len(members) for members in lineups)


def test_forty_takes_cover_every_family_solo_and_in_bands():
    seen, solos = set(), 0
    for i in range(40):
        rng = np.random.default_rng([5, i])
        draw_plan(rng)  # the take draws its plan first, then its lineup, as synthesize_take does
        members = lineup(rng)
        seen |= set(members)
        solos += len(members) == 1
    assert seen == set(FAMILIES)
    assert 8 <= solos <= 32


def test_karplus_strong_string_is_in_tune_and_decays():
    from fxr_plugins.synth import excitation, karplus_strong

    rng = np.random.default_rng(0)
    for f0 in (82.41, 329.63):
        period = SAMPLE_RATE / f0
        y = karplus_strong(excitation(period, 0.8, 0.15, rng), period, 3.0, 0.3, 2 * SAMPLE_RATE)
        spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
        freqs = np.fft.rfftfreq(y.size, 1 / SAMPLE_RATE)
        band = (freqs > 0.9 * f0) & (freqs < 1.1 * f0)
        assert abs(freqs[band][np.argmax(spectrum[band])] - f0) < 1.0
        head, tail = y[:4410], y[-4410:]
        assert np.sqrt(np.mean(tail**2)) < 0.01 * np.sqrt(np.mean(head**2))


def test_recordings_are_picklable_for_build_workers(takes):
    recordings, audio = takes
    loader = pickle.loads(pickle.dumps(recordings[2].load))
    np.testing.assert_array_equal(loader(), audio[2])


@pytest.mark.parametrize("argument", ["abc", "0", "-2", "1.5"])
def test_a_bad_take_count_is_a_clear_error(argument):
    with pytest.raises(FxrError, match="synth:N needs a whole number of takes >= 1"):
        registry.get_source("synth").recordings(argument, 0)


def test_every_take_of_many_seeds_renders():
    # Seed 3 once put a strum's first string before the take began, and failed.
    for seed in range(10):
        for take in registry.get_source("synth").recordings("2", seed):
            assert np.isfinite(take.load()).all()
