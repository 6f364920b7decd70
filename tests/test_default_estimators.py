"""`fxr estimate WET` without a run: the default estimators that plugins ship.

A plugin registers an `Estimator` per trained model file (fxr's own come
from `make models`, plugins/shipped.py). Estimate identifies the effect, then
estimates its settings: blind without the dry audio, paired with it. Every
registered estimator is checked because it is registered: its file must
say what its spec says, and fxr's own must answer correctly on freshly
rendered audio.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import fxregistry
from fxregistry import registry
from fxregistry.audio.io import write_audio
from fxregistry.cli.main import cli
from fxregistry.dataset.build import build
from fxregistry.dataset.config import BuildConfig, parse_deliver
from fxregistry.dataset.identification import NONE
from fxregistry.estimation.defaults import (
    BEYOND_REACH,
    CONFIDENCE,
    LOSSY,
    _beyond_reach,
    _check_clip,
    _weigh_evidence,
    _yield_to_located,
    doubt,
    estimate_with_defaults,
    installed_estimators,
    pick_estimator,
)
from fxregistry.estimation.estimate import read_inputs
from fxregistry.estimation.fixed_point import exact_projection
from fxregistry.estimation.models import load_predictor
from fxregistry.estimation.synthesis import MATCH_DB
from fxregistry.specs.estimator import Estimator
from fxregistry.training.config import FitConfig
from fxregistry.training.fit import fit

SAMPLE_RATE = 44100
REGISTERED = sorted(registry.registrations("estimator"))
SHIPPED = [
    name for name, reg in registry.registrations("estimator").items() if reg.plugin == "shipped"
]


@pytest.mark.parametrize("name", REGISTERED)
def test_every_estimators_file_says_what_its_spec_says(name):
    # A run's bundle (.pt) or its portable export (.onnx): loaded as estimate loads it.
    estimator = registry.resolve("estimator", name)
    card = load_predictor(estimator.file(), "cpu").card
    assert card.input == estimator.input
    # One for lossy files heard lossy files only (fxr build --deliver mp3:1); no other did.
    delivered = dict(parse_deliver(card.stored.get("data", {}).get("deliver", "none")))
    if estimator.lossy:
        assert set(delivered) == {"mp3"} and sum(delivered.values()) == 1
    else:
        assert "mp3" not in delivered
    if estimator.identifies:
        assert card.classes is not None and card.classes[0] == NONE
    else:
        assert card.classes is None and card.effect.name == estimator.effect


def test_fxr_ships_an_identifier_and_a_blind_and_a_paired_estimator_per_builtin_effect():
    if not SHIPPED:
        pytest.skip("no shipped weights: `make models` writes them")
    shipped = [registry.resolve("estimator", name) for name in SHIPPED]
    manifest_bytes = sum(os.path.getsize(e.file()) for e in shipped)
    assert manifest_bytes < 20e6  # all of them together, well under 20 MB
    for effect in (None, "delay", "bitcrusher", "sample-rate", "limiter"):
        assert pick_estimator(shipped, effect, paired=False) is not None
        assert pick_estimator(shipped, effect, paired=True).needs_dry
    for estimator in shipped:
        manifest = estimator.manifest
        assert {"recipe", "commit", "data", "seed", "measured"} <= set(manifest)


# Settings a shipped model must get right on freshly rendered audio: far apart in
# what they do, so the check is of a working model, not of a lucky one.
ANSWERS = {
    "delay": ({"delay_seconds": 0.25}, 0.04),
    "sample-rate": ({"target_khz": 8.0}, 2.0),
    "bitcrusher": ({"bit_depth": 4.0}, 1.0),
}


@pytest.mark.parametrize("effect", sorted(ANSWERS))
def test_the_shipped_estimators_name_the_effect_and_its_setting(effect, tmp_path):
    if not SHIPPED:
        pytest.skip("no shipped weights: `make models` writes them")
    from fxr_plugins.synth import synthesize_take

    dry = synthesize_take(11, 0, families=("electric-guitar",))[: 4 * SAMPLE_RATE]
    dry = dry / np.abs(dry).max() * 10 ** (-6 / 20)
    setting, tolerance = ANSWERS[effect]
    write_audio(tmp_path / "dry.wav", dry, SAMPLE_RATE)
    wet = registry.get_effect(effect)(dry, SAMPLE_RATE, **setting)
    write_audio(tmp_path / "wet.wav", wet, SAMPLE_RATE)
    paired = estimate_with_defaults(tmp_path / "wet.wav", tmp_path / "dry.wav", device="cpu")
    assert paired["effect"] == effect
    for name, value in setting.items():
        assert abs(paired["parameters"][name]["value"] - value) <= tolerance


def test_blind_the_checks_overrule_the_network(guitar, tmp_path):
    # Untouched audio: every effect with a check is refuted (never quantized, no
    # echoes, not band-limited); a delay's echoes confirm it, whatever the network says.
    if not SHIPPED:
        pytest.skip("no shipped weights: `make models` writes them")
    loud = guitar / np.abs(guitar).max() * 10 ** (-3 / 20)
    write_audio(tmp_path / "untouched.wav", loud, SAMPLE_RATE)
    untouched = estimate_with_defaults(tmp_path / "untouched.wav", device="cpu")
    for name, verdict in untouched["evidence"].items():
        assert verdict == "refuted" and untouched["probabilities"][name] == 0.0
        assert untouched["effect"] != name
    assert set(untouched["network_probabilities"]) == set(untouched["probabilities"])
    delayed = registry.get_effect("delay")(loud, SAMPLE_RATE, delay_seconds=0.25)
    write_audio(tmp_path / "delayed.wav", delayed, SAMPLE_RATE)
    found = estimate_with_defaults(tmp_path / "delayed.wav", device="cpu")
    assert (found["effect"], found["identified_by"]) == ("delay", "echoes")
    assert found["parameters"]["delay_seconds"]["value"] == 0.25
    assert found["echoes"]["score"] >= 30


def test_a_blind_estimate_reads_the_file_once_and_runs_each_check_once(
    guitar, tmp_path, monkeypatch
):
    # Identification, its checks and the effect's own estimate share what was read.
    if not SHIPPED:
        pytest.skip("no shipped weights: `make models` writes them")
    from fxregistry.estimation import estimate as estimating

    reads, checks = [], []
    read, check = estimating.read_audio, estimating.blind_evidence
    monkeypatch.setattr(estimating, "read_audio", lambda *a, **k: reads.append(a) or read(*a, **k))
    monkeypatch.setattr(
        estimating, "blind_evidence", lambda e, *a: checks.append(e.name) or check(e, *a)
    )
    loud = guitar / np.abs(guitar).max() * 10 ** (-3 / 20)
    delayed = registry.get_effect("delay")(loud, SAMPLE_RATE, delay_seconds=0.25)
    write_audio(tmp_path / "delayed.wav", delayed, SAMPLE_RATE)
    found = estimate_with_defaults(tmp_path / "delayed.wav", device="cpu")
    assert (found["effect"], found["echoes"]["score"] >= 30) == ("delay", True)
    assert len(reads) == 1
    assert "delay" in checks and len(checks) == len(set(checks))


def test_with_the_dry_and_refine_the_effect_that_renders_the_dry_into_the_wet_decides(
    guitar, tmp_path
):
    if not SHIPPED:
        pytest.skip("no shipped weights: `make models` writes them")
    loud = guitar / np.abs(guitar).max() * 10 ** (-2 / 20)
    write_audio(tmp_path / "dry.wav", loud, SAMPLE_RATE)
    limited = registry.get_effect("limiter")(loud, SAMPLE_RATE, threshold_db=-9.0, release_ms=0.0)
    write_audio(tmp_path / "wet.wav", limited, SAMPLE_RATE)
    result = CliRunner().invoke(
        cli,
        ["estimate", str(tmp_path / "wet.wav"), "--dry", str(tmp_path / "dry.wav")]
        + ["--refine", "--json"],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert (found["effect"], found["identified_by"]) == ("limiter", "synthesis")
    assert (
        found["synthesis"]["limiter"]
        >= MATCH_DB
        > max(fit for name, fit in found["synthesis"].items() if name != "limiter")
    )
    assert found["parameters"]["threshold_db"]["value"] == -9.0
    assert set(found["network_probabilities"]) == set(found["probabilities"])
    untouched = estimate_with_defaults(
        tmp_path / "dry.wav", tmp_path / "dry.wav", refine=True, device="cpu"
    )
    assert (untouched["effect"], untouched["identified_by"]) == (None, "synthesis")


def test_with_the_dry_a_check_confirms_the_effect_where_no_render_of_the_dry_is_the_wet(
    guitar, tmp_path, monkeypatch
):
    # A delay at another feedback and mix than the effect's: no grid setting renders the
    # dry into the wet, so synthesis decides nothing and the paired network's answer
    # stood, here made sure of another effect. Its echoes confirm the delay, as blind.
    if not SHIPPED:
        pytest.skip("no shipped weights: `make models` writes them")
    import pedalboard

    from fxregistry.estimation import defaults

    loud = (guitar / np.abs(guitar).max() * 10 ** (-3 / 20)).astype(np.float32)
    wet = pedalboard.Delay(delay_seconds=0.25, feedback=0.5, mix=0.3)(loud[None], SAMPLE_RATE)
    dry = write_audio(tmp_path / "dry.wav", loud, SAMPLE_RATE)
    wet = write_audio(tmp_path / "wet.wav", wet[0], SAMPLE_RATE)
    identifier = pick_estimator(installed_estimators(), None, paired=True).file()
    wrong = next(n for n in registry.effect_names() if n != "delay")
    real_estimate = defaults.estimate

    def sure_of_another_effect(model, *args, **kwargs):
        found = real_estimate(model, *args, **kwargs)
        if str(model) == str(identifier):
            rest = [c for c in found["probabilities"] if c != wrong]
            found["probabilities"] = {wrong: 0.97} | {c: 0.03 / len(rest) for c in rest}
            found["effect"], found["probability"] = wrong, 0.97
        return found

    monkeypatch.setattr(defaults, "estimate", sure_of_another_effect)
    found = estimate_with_defaults(wet, dry, refine=True, device="cpu")
    assert max(found["synthesis"].values()) < MATCH_DB  # no render is the wet
    assert (found["effect"], found["identified_by"]) == ("delay", "echoes")
    assert found["parameters"]["delay_seconds"]["value"] == 0.25
    assert found["network_probabilities"][wrong] == 0.97


def test_without_the_dry_a_blind_estimator_is_picked_and_with_it_a_paired_one():
    blind = Estimator("a-wet", "delay", "wet", "a.pt")
    paired = Estimator("a-pair", "delay", "pair+residual", "b.pt")
    found = [paired, blind]
    assert pick_estimator(found, "delay", paired=False) is blind
    assert pick_estimator(found, "delay", paired=True) is paired
    assert pick_estimator([blind], "delay", paired=True) is blind  # the dry can go unused
    assert pick_estimator([paired], "delay", paired=False) is None
    assert pick_estimator(found, None, paired=False) is None


def test_a_lossy_file_is_heard_by_an_estimator_trained_on_lossy_files_and_no_other_is():
    exact = Estimator("a-wet", None, "wet", "a.pt")
    lossy = Estimator("a-lossy-wet", None, "wet", "b.pt", lossy=True)
    paired = Estimator("a-pair", None, "pair+residual", "c.pt")
    found = [paired, lossy, exact]
    assert pick_estimator(found, None, paired=False, lossy=True) is lossy
    assert pick_estimator(found, None, paired=False) is exact
    assert pick_estimator([lossy], None, paired=False) is None  # never for an exact file
    assert pick_estimator([exact], None, paired=False, lossy=True) is exact  # it will do
    assert pick_estimator(found, None, paired=True, lossy=True) is paired  # the dry first


def test_estimate_picks_the_identifier_by_the_files_codec(guitar, tmp_path):
    lossy = [name for name in SHIPPED if registry.resolve("estimator", name).lossy]
    if not lossy:
        pytest.skip("no shipped identifier for lossy files: `make models` writes it")
    loud = guitar / np.abs(guitar).max() * 10 ** (-3 / 20)
    delayed = registry.get_effect("delay")(loud, SAMPLE_RATE, delay_seconds=0.25)
    for suffix in (".wav", ".mp3"):
        write_audio(tmp_path / f"delayed{suffix}", delayed, SAMPLE_RATE)
        found = estimate_with_defaults(tmp_path / f"delayed{suffix}", device="cpu")
        assert (found["effect"], found["identified_by"]) == ("delay", "echoes")
        assert (found["estimators"][0] in lossy) == (suffix == ".mp3")


def test_an_effect_the_network_alone_names_where_no_check_could_rule_must_be_probable():
    def answer(p: float) -> dict:
        others = {NONE: (1 - p) * 0.75, "delay": (1 - p) * 0.25}
        return {
            "effect": "bitcrusher",
            "probability": p,
            "probabilities": {"bitcrusher": p, **others},
        }

    for why in (LOSSY, BEYOND_REACH):
        doubted = answer(CONFIDENCE - 0.01)
        doubt(doubted, why)
        assert doubted["effect"] is None
        assert doubted["probability"] == doubted["probabilities"][NONE]
        assert doubted["unsure"] == {
            "effect": "bitcrusher",
            "probability": CONFIDENCE - 0.01,
            "needed": CONFIDENCE,
            "why": why,
        }
        sure = answer(CONFIDENCE)
        doubt(sure, why)
        assert sure == answer(CONFIDENCE)
    # Weighed by the probability given (the network's own, before the checks struck
    # other effects off), not the answer's renormalized one.
    named = answer(CONFIDENCE)
    doubt(named, BEYOND_REACH, CONFIDENCE - 0.2)
    assert named["effect"] is None and named["unsure"]["probability"] == CONFIDENCE - 0.2


# A check that finds its effect's setting but cannot confirm it (a band limit), and one
# that refutes what it did not make for certain (an exact quantizer).
LOCATING = [
    n
    for n in registry.effect_names()
    if registry.get_effect(n).projection is not None
    and not exact_projection(registry.get_effect(n))
]
EXACT = [n for n in registry.effect_names() if exact_projection(registry.get_effect(n))]


@pytest.mark.parametrize("name", LOCATING)
def test_when_the_network_was_sure_of_a_refuted_effect_a_located_setting_takes_the_change(
    name, guitar, tmp_path
):
    # Drum samples the network took for a quantizer (docs/estimate.md): the quantizer's
    # exact check refutes it, and what the network ranked below is no ranking. The change
    # it heard goes to the effect whose check found its setting in the wet; on audio no
    # check locates, to none, even where the network ranked the effect over none (a band
    # the music does not fill under a 16-bit file's rounding); where the network was not
    # sure, none stands.
    if not EXACT:
        pytest.skip("no effect with an exact fixed point to refute")
    effect, sure_of = registry.get_effect(name), EXACT[0]
    setting = effect.changing_grid()[len(effect.changing_grid()) // 2]
    loud = (guitar / np.abs(guitar).max() * 10 ** (-3 / 20)).astype(np.float32)
    wet = effect(loud, SAMPLE_RATE, **setting)
    changed = write_audio(tmp_path / "changed.wav", wet, SAMPLE_RATE)
    untouched = write_audio(tmp_path / "untouched.wav", loud, SAMPLE_RATE)

    def weighed(path, sureness: float, below: dict | None = None) -> dict:
        others = [n for n in registry.effect_names() if n not in (sure_of, name)]
        # Below the refuted effect, none ranks above the effect its check locates.
        rest = (below or {NONE: 0.6, name: 0.1}) | {n: 0.3 / len(others) for n in others}
        network = {sure_of: sureness} | {c: p * (1 - sureness) for c, p in rest.items()}
        identification = {"probabilities": dict(sorted(network.items(), key=lambda i: -i[1]))}
        _weigh_evidence(identification, read_inputs(path))
        assert identification["evidence"][sure_of] == "refuted"
        return identification

    found = weighed(changed, CONFIDENCE)
    assert found["effect"] == name and found["probability"] >= CONFIDENCE
    assert weighed(untouched, CONFIDENCE)["effect"] is None
    assert weighed(changed, CONFIDENCE - 0.1)["effect"] is None
    # In a 16-bit file: a loud band limit fills its band to the top, and takes the change;
    # a quiet one does not, and none does.
    filled = write_audio(tmp_path / "filled.wav", wet, SAMPLE_RATE, bit_depth=16)
    assert weighed(filled, CONFIDENCE, {name: 0.1, NONE: 0.6})["effect"] == name
    quiet = effect((loud * 10 ** (-57 / 20)).astype(np.float32), SAMPLE_RATE, **setting)
    hidden = write_audio(tmp_path / "hidden.wav", quiet, SAMPLE_RATE, bit_depth=16)
    assert weighed(hidden, CONFIDENCE, {name: 0.6, NONE: 0.1})["effect"] is None


ECHOING = [n for n in registry.effect_names() if registry.get_effect(n).linear]


@pytest.mark.parametrize("name", LOCATING)
def test_an_answer_its_check_cannot_place_yields_to_a_setting_another_check_located(
    name, guitar, tmp_path
):
    # A walking bass line repeats at a steady time: the network hears echoes, and the echo
    # check finds a train at no grid setting, which it cannot rule on. Band-limited, the
    # wet holds what another check can place: the band limit's setting, located. The
    # change the network heard goes there. Not band-limited, nothing is located and the
    # network's answer stands (to be doubted on its probability, as before).
    if not ECHOING:
        pytest.skip("no effect with an echo check")
    echo, effect = registry.get_effect(ECHOING[0]), registry.get_effect(name)
    (parameter,) = echo.parameters
    times = [s[parameter.name] for s in echo.changing_grid()]
    period = int((times[2] + times[3]) / 2 * SAMPLE_RATE)  # between two settings
    rng = np.random.default_rng(0)
    phrases = [guitar[:period] * rng.uniform(0.3, 1.0) for _ in range(-(-guitar.size // period))]
    music = np.concatenate(phrases)[: guitar.size]
    music = music + 0.02 * np.abs(music).max() * rng.standard_normal(music.size)
    music = (music / np.abs(music).max() * 0.7).astype(np.float32)

    def heard_as_echoes(path) -> tuple[dict, bool]:
        others = [n for n in registry.effect_names() if n != echo.name]
        network = {echo.name: CONFIDENCE + 0.05, NONE: 0.03} | {
            n: 0.02 / len(others) for n in others
        }
        identification = {"probabilities": dict(sorted(network.items(), key=lambda i: -i[1]))}
        inputs = read_inputs(path)
        _weigh_evidence(identification, inputs)
        assert identification["effect"] == echo.name and _beyond_reach(identification, inputs)
        return identification, _yield_to_located(identification, inputs)

    plain = write_audio(tmp_path / "plain.wav", music, SAMPLE_RATE)
    identification, yielded = heard_as_echoes(plain)
    assert not yielded and identification["effect"] == echo.name
    assert "yielded" not in identification
    placed = 0
    for setting in effect.changing_grid():
        wet = effect(music, SAMPLE_RATE, **setting).astype(np.float32)
        path = write_audio(tmp_path / "limited.wav", wet, SAMPLE_RATE)
        inputs = read_inputs(path)
        heard = inputs.evidence(echo, _check_clip())
        if heard.verdict is not None:  # band-limited, the repeats may stand out as echoes
            continue
        located = inputs.evidence(effect, _check_clip())
        assert located.located, setting
        placed += 1
        identification, yielded = heard_as_echoes(path)
        assert yielded and identification["effect"] == name
        assert identification["identified_by"] == located.check
        assert identification["probability"] >= CONFIDENCE
        assert identification["yielded"]["effect"] == echo.name
        assert identification["yielded"]["why"] == BEYOND_REACH
        # Under a 16-bit file's rounding a located band is no claim: sampled instruments
        # are band-limited themselves. The answer stands there.
        rounded = write_audio(tmp_path / "rounded.wav", wet, SAMPLE_RATE, bit_depth=16)
        identification, yielded = heard_as_echoes(rounded)
        assert not yielded and identification["effect"] == echo.name
    assert placed, "the music was made for the echo check to say nothing of some band limits"


GENTLE = [n for n in registry.effect_names() if registry.get_effect(n).gentle_peak_db]


@pytest.mark.parametrize("name", GENTLE)
def test_a_wet_its_check_cannot_rule_on_leaves_the_network_in_doubt(name, guitar, tmp_path):
    # A gentle compression holds no peak at the ceiling: above the gentle peak the check
    # can neither confirm nor refute, and a network's answer there needs CONFIDENCE.
    # Below it, no held peak refutes the effect, as before.
    effect = registry.get_effect(name)
    for offset_db, beyond in ((1.0, True), (-1.0, False)):
        level = 10 ** ((effect.gentle_peak_db + offset_db) / 20)
        music = (guitar / np.abs(guitar).max() * level).astype(np.float32)
        path = write_audio(tmp_path / "wet.wav", music, SAMPLE_RATE)
        inputs = read_inputs(path)
        assert _beyond_reach({"effect": name}, inputs) == beyond, offset_db
        assert not _beyond_reach({"effect": None}, inputs)


@pytest.mark.parametrize("name", LOCATING)
def test_a_band_limit_under_16_bit_rounding_leaves_the_network_in_doubt_unless_the_music_fills_it(
    name, guitar, tmp_path
):
    # The rounding hides what lies above the band, so the check cannot refute the effect
    # (a dark solo is a fixed point of a band limit it never passed through): where the
    # music does not fill the band to its top either, a network's answer needs
    # CONFIDENCE. A loud guitar fills it, and so it does in a float or 24-bit file.
    effect = registry.get_effect(name)
    setting = effect.changing_grid()[len(effect.changing_grid()) // 2]
    for peak_db, bits, beyond in (
        (-3, 16, False),
        (-60, 16, True),
        (-60, 24, False),
        (-60, None, False),
    ):
        music = (guitar / np.abs(guitar).max() * 10 ** (peak_db / 20)).astype(np.float32)
        wet = effect(music, SAMPLE_RATE, **setting)
        path = write_audio(tmp_path / f"{bits}.wav", wet, SAMPLE_RATE, bit_depth=bits)
        inputs = read_inputs(path)
        assert _beyond_reach({"effect": name}, inputs) == beyond, (peak_db, bits)


def test_an_estimator_takes_only_an_input_fxr_knows():
    with pytest.raises(ValueError, match="input"):
        Estimator("x", "delay", "stereo", "x.pt")


# ---------------------------------------------------------------- a third party's


PLUGIN = """
from pathlib import Path

import fxregistry
from fxregistry import Estimator

HERE = Path(__file__).parent


@fxregistry.hookimpl
def register_estimators(register):
    register(Estimator("acme-identify", None, "wet", HERE / "identify.pt", "which effect"))
    for effect in ("delay", "bitcrusher"):
        register(Estimator(f"acme-{effect}", effect, "wet", HERE / f"{effect}.pt"))
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny wet-only models: one identifying delay/bitcrusher/none, one per effect."""
    root = tmp_path_factory.mktemp("acme")
    made = {}
    for name, effect, grid in (
        ("identify", "delay,bitcrusher", "random:1"),
        ("delay", "delay", "paper"),
        ("bitcrusher", "bitcrusher", "paper"),
    ):
        data = root / f"{name}.h5"
        config = BuildConfig(
            effect=effect, source="synth:2", clip_seconds=0.5, max_clips=3, grid=grid
        )
        build(config, data, workers=1)
        fit(FitConfig(model="cnn", data=str(data), input="wet", epochs=1), root / name)
        made[name] = root / name / "model.pt"
    registry.reset()
    return made


@pytest.fixture
def acme(trained, fake_distribution, monkeypatch):
    """A third-party distribution that ships estimators, and fxr's own left out."""
    builtin = [p for p in os.environ["FXR_PLUGINS"].split(",") if p != "shipped"]
    monkeypatch.setenv("FXR_PLUGINS", ",".join(builtin))
    root = fake_distribution(
        "fxr-test-acme", {"acme": "fxr_test_acme"}, {"fxr_test_acme.py": PLUGIN}
    )
    for name, path in trained.items():
        shutil.copyfile(path, root / f"{name}.pt")
    return root


def test_a_plugin_ships_estimators_through_the_hook(acme):
    names = [e.name for e in installed_estimators()]
    assert names == ["acme-bitcrusher", "acme-delay", "acme-identify"]
    listed = CliRunner().invoke(cli, ["list-estimators", "--json"])
    assert listed.exit_code == 0
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["acme-identify"]["task"] == "identify"
    assert rows["acme-delay"]["plugin"] == "fxr-test-acme"


def test_estimate_without_a_run_identifies_then_estimates_the_settings(acme, guitar, tmp_path):
    wet = tmp_path / "wet.wav"
    write_audio(wet, registry.get_effect("delay")(guitar, SAMPLE_RATE, delay_seconds=0.2), 44100)
    result = CliRunner().invoke(cli, ["estimate", str(wet), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert set(answer["probabilities"]) == {NONE, "delay", "bitcrusher"}
    assert answer["estimators"][0] == "acme-identify"
    if answer["effect"] is None:  # none: nothing to set
        assert answer["parameters"] == {} and answer["estimators"] == ["acme-identify"]
    else:
        effect = registry.get_effect(answer["effect"])
        assert set(answer["parameters"]) == set(effect.parameter_names)
        assert answer["estimators"] == ["acme-identify", f"acme-{answer['effect']}"]


def test_effect_skips_identification(acme, guitar, tmp_path):
    wet = tmp_path / "wet.wav"
    write_audio(wet, registry.get_effect("delay")(guitar, SAMPLE_RATE, delay_seconds=0.2), 44100)
    result = estimate_with_defaults(wet, effect="delay", device="cpu")
    assert result["estimators"] == ["acme-delay"]
    assert result["effect"] == "delay" and "probabilities" not in result


def test_an_effect_without_an_estimator_is_one_clear_line(acme, guitar, tmp_path):
    wet = tmp_path / "wet.wav"
    write_audio(wet, guitar, 44100)
    result = CliRunner().invoke(cli, ["estimate", str(wet), "--effect", "limiter"])
    assert result.exit_code == 2
    assert "no default estimator of 'limiter' settings" in result.stderr
    assert "acme-delay" in result.stderr  # what is installed


def test_the_public_api_exports_the_estimator_spec():
    assert fxregistry.Estimator is Estimator
