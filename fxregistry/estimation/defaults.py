"""``fxr estimate WET`` without a run: the default estimators the plugins ship.

1. Which effect: unless ``--effect`` names it, the estimator that identifies
   effects (a paired one when the dry audio is given and one is installed,
   else the blind one) ranks every effect it knows, and none. The network is
   overruled by evidence it cannot match, with the dry as without it: the
   blind checks of :mod:`~fxregistry.estimation.evidence` (an exact fixed
   point, an impulse response's echoes in the cepstrum). An effect a check
   confirms is the answer (``identified_by`` names the check); effects a
   check refutes are struck off, and the network's probabilities
   renormalized over the rest (``network_probabilities`` keeps them as the
   network gave them, ``evidence`` each check's verdict). Where the effects
   struck off held :data:`CONFIDENCE` of the network's probability, the rest
   of its ranking says nothing, and their share goes to the effects whose
   checks located their setting without confirming it (a band limit). When
   none is the most probable, that is the answer: no parameters. On a lossy
   file (an mp3) the identifier trained on lossy files answers. Blind, an
   effect the network alone names below :data:`CONFIDENCE` where no check
   could rule on it is doubted into none (``unsure``): on a lossy file, or
   where the effect's own check said nothing for want of what it reads (a
   gentle compression holds no peak; echoes at no grid setting may be music
   that repeats), unless another effect's check located its setting in the
   wet: that effect is the answer then (``yielded``). With the dry and
   ``--refine``, an effect whose render of the dry is the wet outranks every
   check (analysis by synthesis,
   :mod:`~fxregistry.estimation.synthesis`).
2. Which settings: the effect's own estimator, paired when the dry audio is
   given and one is installed, else blind (``--refine`` still uses the dry).
   It runs as ``fxr estimate RUN WET`` would with its model file.

The result is that of step 2 (or 1, for none), plus the identification's
``probability`` and ``probabilities`` and the ``estimators`` used.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fxregistry import registry
from fxregistry.dataset.identification import NONE
from fxregistry.errors import FxrError
from fxregistry.estimation.estimate import Inputs, estimate, read_inputs
from fxregistry.specs.estimator import Estimator

__all__ = [
    "CONFIDENCE",
    "doubt",
    "estimate_with_defaults",
    "installed_estimators",
    "pick_estimator",
]


def installed_estimators() -> list[Estimator]:
    return [reg.item for reg in registry.registrations("estimator").values()]


def pick_estimator(
    estimators: list[Estimator], effect: str | None, paired: bool, lossy: bool = False
) -> Estimator | None:
    """The estimator of ``effect`` (None: identification) for the input at hand.

    With the dry audio a paired estimator is preferred and a blind one will
    do; without it only a blind one can answer. For a ``lossy`` wet file (an
    mp3) one trained on lossy files is preferred; for an exact one it never
    answers.
    """
    usable = [
        e
        for e in estimators
        if e.effect == effect and (paired or not e.needs_dry) and (lossy or not e.lossy)
    ]
    usable.sort(key=lambda e: (e.needs_dry != paired, e.lossy != lossy, e.name))
    return usable[0] if usable else None


def _none_installed(what: str, estimators: list[Estimator]) -> FxrError:
    listed = ", ".join(e.name for e in estimators) or "none"
    return FxrError(
        f"no default estimator {what} is installed (installed: {listed}; fxr "
        "list-estimators); train one with `make models`, or pass a run: fxr estimate RUN WET"
    )


def _weigh_synthesis(
    identification: dict[str, Any], inputs: Inputs, estimators: list[Estimator]
) -> None:
    """With the dry and ``--refine``: the effect whose render of the dry is the wet, if one is.

    The candidates are the effects whose settings an installed estimator can
    give. The renders start with the files and span ``REFINE_SECONDS``, as
    the refinement's do.
    """
    from fxregistry.audio.io import SAMPLE_RATE, word_step
    from fxregistry.estimation.estimate import REFINE_SECONDS
    from fxregistry.estimation.synthesis import identify_by_synthesis

    dry, wet, rate = inputs.synthesis_pair(int(REFINE_SECONDS * SAMPLE_RATE))
    named = {e.effect for e in estimators if e.effect is not None}
    effects = {n: reg.item for n, reg in registry.registrations("effect").items() if n in named}
    found, fits = identify_by_synthesis(dry, wet, effects, rate, word_step(inputs.dry_word_bits))
    shown = {n: round(f, 1) if np.isfinite(f) else None for n, f in fits.items()}
    identification["synthesis"] = shown  # dB; None: an effect with no setting to render
    if found is None:
        return  # nothing renders the wet: the network's answer stands
    network = identification.setdefault("network_probabilities", identification["probabilities"])
    identification["effect"] = None if found == NONE else found
    identification["probability"] = 1.0
    identification["probabilities"] = {found: 1.0} | {c: 0.0 for c in network if c != found}
    identification["identified_by"] = "synthesis"


def _check_clip() -> int:
    """Samples of the window the blind checks run on: the shipped estimators' clip, so
    that the effect's own estimate finds these checks already run (Inputs.evidence)."""
    from fxregistry.audio.io import SAMPLE_RATE
    from fxregistry.dataset.config import CLIP_SECONDS

    return int(CLIP_SECONDS * SAMPLE_RATE)


def _weigh_evidence(identification: dict[str, Any], inputs: Inputs) -> None:
    """Overrule the network where the blind checks are decisive (module docstring, step 1).

    The checks run on the wet's loudest window: first every check that can
    confirm its effect (they are cheap). An effect one confirms is the
    answer (of several, one an exact fixed point confirms, else the one the
    network ranks higher); else the
    network's ranking is walked down, striking off each effect its check
    refutes, to the first that stands (none stands always), and the
    probabilities are renormalized over what was not struck off.
    """
    from fxregistry.estimation.evidence import CONFIRMED, REFUTED, Evidence, can_confirm

    clip = _check_clip()
    effects = {name: reg.item for name, reg in registry.registrations("effect").items()}
    found: dict[str, Evidence | None] = {}

    def verdict(name: str) -> str | None:
        if name not in found:
            found[name] = inputs.evidence(effects[name], clip)
        return None if found[name] is None else found[name].verdict

    network = identification["probabilities"]  # most probable first
    confirmed = [
        name for name, e in effects.items() if can_confirm(e) and verdict(name) == CONFIRMED
    ]
    if confirmed:
        # An exact fixed point cannot happen by chance; echoes and held peaks can (rarely:
        # benchmarks/blind_checks.py), so of two confirmed effects it wins, then the network.
        top = max(confirmed, key=lambda n: (found[n].exact, network.get(n, 0.0)))
        kept = {top: 1.0}
        identification["identified_by"] = found[top].check
    else:
        for name in network:  # the checks a class above the answer needs
            if name not in effects or verdict(name) != REFUTED:
                break
        kept = {c: p for c, p in network.items() if c not in found or verdict(c) != REFUTED}
        struck = sum(p for c, p in network.items() if c not in kept)
        if struck >= CONFIDENCE:
            # The network was sure the audio was changed, and by an effect a check then
            # refuted: what it ranks below that is no ranking (drum samples it took for
            # a quantizer, band-limited or not; 16-bit guitar solos it took for echoed).
            # The change it heard goes to an effect whose check found its setting in
            # this wet, though it cannot confirm it (a band limit); with none found, to
            # none, not to the rest of that ranking. Measured: docs/estimate.md.
            remaining = [n for n in effects if n in kept and verdict(n) is None]  # run now
            located = [n for n in remaining if found[n] is not None and found[n].located]
            takers = located or [NONE]
            for name in takers:
                kept[name] = kept.get(name, 0.0) + struck / len(takers)
        total = sum(kept.values())
        kept = {c: p / total for c, p in kept.items()} if total > 0 else {NONE: 1.0}
    ranked = sorted(kept.items(), key=lambda item: -item[1])
    top_class, top_probability = ranked[0]
    identification["effect"] = None if top_class == NONE else top_class
    identification["probability"] = top_probability
    identification["probabilities"] = dict(ranked) | {c: 0.0 for c in network if c not in kept}
    identification["network_probabilities"] = network
    identification["evidence"] = {n: verdict(n) for n in found if verdict(n) is not None}


# Where no check could rule on an effect that the network alone names, the answer must be
# at least this probable, or it is none. On a lossy file (an mp3) the blind checks stand
# aside, and the codec's band limit and noise hide much of what tells an effect from none:
# through fxr estimate on mp3s of real recordings, 0.9 kept 68-69 % of changed examples
# named right and called 70-99 % of unchanged ones none, against 80-86 % and 39-60 %
# without it (benchmarks/producer.py --format mp3; docs/estimate.md, "Lossy files"). An
# effect's own check can say nothing on an exact file too: a gentle compression holds no
# peak at the ceiling (``gentle_peak_db``). There, at the levels, the network
# alone named 6-9 more such changes per group and called 0-13 unchanged clips changed;
# doubted on its own probability, 0-3 more and none, at the recordings' own levels too
# (producer.py --peaks; docs/estimate.md, "At the levels").
CONFIDENCE = 0.9
LOSSY, BEYOND_REACH = "lossy file", "beyond its check"  # why an answer was doubted


def doubt(identification: dict[str, Any], why: str, probability: float | None = None) -> None:
    """A network's answer less probable than :data:`CONFIDENCE` (its ``probability``, or
    the one given), where ``why`` no check could rule on it, becomes none; ``unsure``
    keeps what was doubted and why, ``probability`` becomes none's."""
    effect = identification["effect"]
    if probability is None:
        probability = identification["probability"]
    if effect is None or probability >= CONFIDENCE:
        return
    identification["unsure"] = {
        "effect": effect,
        "probability": probability,
        "needed": CONFIDENCE,
        "why": why,
    }
    identification["effect"] = None
    identification["probability"] = identification["probabilities"].get(NONE, 0.0)


def _beyond_reach(identification: dict[str, Any], inputs: Inputs) -> bool:
    """Whether the answer's own check said nothing because what it reads may not be in
    this wet (:attr:`~fxregistry.estimation.evidence.Evidence.beyond_reach`)."""
    effect = identification["effect"]
    if effect is None or effect not in registry.effect_names():
        return False
    found = inputs.evidence(registry.get_effect(effect), _check_clip())
    return found is not None and found.beyond_reach


def _yield_to_located(identification: dict[str, Any], inputs: Inputs) -> bool:
    """Blind, where the answer's own check could not rule on it (:func:`_beyond_reach`):
    if another effect's check located its setting in this wet (not under a rounding that
    hides a band, a 16-bit file's), that effect takes the answer's probability and is the
    answer (``yielded`` keeps what it replaced); returns whether one did.

    The struck-off rule of :func:`_weigh_evidence` again: the network heard a change, its
    answer has no support from its own check, and another check found where its effect
    left the wet. A located setting is a positive claim: in a one-off probe of 5016 wets
    (every effect's grid and untouched clips, bass, drums, guitar solos and band mixes of
    three corpora at the issue's levels) only band limits were located, and quantizations,
    which their exact check confirms first. The network had taken 15 band-limited walking
    bass lines for echoes its check could not place; with this rule they are named, and no
    other answer of fifteen groups changed (producer.py ``--tag other-yielded``,
    docs/estimate.md).
    """
    from fxregistry.audio.features import noise_hides
    from fxregistry.audio.io import rounding_noise

    if noise_hides(rounding_noise(inputs.word_bits)):
        # Under a 16-bit file's rounding a band limit is located wherever the music fills
        # it, and sampled instruments are band-limited at a grid's rates themselves: through
        # producer.py --bits 16 the rule called three unchanged fluid guitar clips
        # band-limited and named nothing more (docs/estimate.md).
        return False
    answer = identification["effect"]
    clip = _check_clip()
    effects = {name: reg.item for name, reg in registry.registrations("effect").items()}
    network = identification["probabilities"]
    located = [
        name
        for name, e in effects.items()
        if name != answer and (found := inputs.evidence(e, clip)) is not None and found.located
    ]
    if not located:
        return False
    taker = max(located, key=lambda n: network.get(n, 0.0))
    moved = dict(network)
    moved[taker] = moved.get(taker, 0.0) + moved.pop(answer)
    ranked = dict(sorted(moved.items(), key=lambda item: -item[1])) | {answer: 0.0}
    identification["yielded"] = {
        "effect": answer,
        "probability": network[answer],
        "why": BEYOND_REACH,
    }
    identification["effect"] = taker
    identification["probability"] = ranked[taker]
    identification["probabilities"] = ranked
    identification["identified_by"] = inputs.evidence(effects[taker], clip).check
    return True


def estimate_with_defaults(
    wet_path: str | os.PathLike,
    dry_path: str | os.PathLike | None = None,
    *,
    effect: str | None = None,
    refine: bool = False,
    render_to: str | os.PathLike | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """What ``fxr estimate WET --json`` prints; see the module docstring."""
    estimators = installed_estimators()
    paired = dry_path is not None
    inputs = read_inputs(wet_path, dry_path)  # once, for every estimate and check below
    lossy = not inputs.exact
    used, identification = [], None
    if effect is None:
        identifier = pick_estimator(estimators, None, paired, lossy)
        if identifier is None:
            raise _none_installed("that identifies the effect (name it with --effect)", estimators)
        identification = estimate(
            identifier.file(), wet_path, dry_path, device=device, inputs=inputs
        )
        identification["identified_by"] = identifier.name
        if dry_path is not None and refine:  # renders that are the wet outrank every check
            _weigh_synthesis(identification, inputs, estimators)
        if identification["identified_by"] == identifier.name:
            # The checks read the wet alone, so they hold with the dry too: an echo effect
            # made at another feedback than the registered one's has no render of the
            # dry that is the wet, and synthesis cannot decide, but its echoes confirm
            # it (benchmarks/variants.py).
            _weigh_evidence(identification, inputs)
        if dry_path is None:
            if identification["identified_by"] == identifier.name:  # the network decided
                if lossy:  # weighed after the echo check struck off what it refuted: measured
                    doubt(identification, LOSSY)
                elif _beyond_reach(identification, inputs) and not _yield_to_located(
                    identification, inputs
                ):
                    # As sure as the network was before the checks struck others off: they
                    # ruled out those, not none, which is what this answer competes with.
                    named = identification["network_probabilities"][identification["effect"]]
                    doubt(identification, BEYOND_REACH, named)
        used.append(identifier.name)
        effect = identification["effect"]
        if effect is None:  # no registered effect shows in the audio
            return {**identification, "estimators": used}
    setter = pick_estimator(estimators, effect, paired, lossy)
    if setter is None:
        raise _none_installed(f"of {effect!r} settings", estimators)
    result = estimate(
        setter.file(),
        wet_path,
        dry_path,
        refine=refine,
        render_to=render_to,
        device=device,
        inputs=inputs,
    )
    used.append(setter.name)
    if identification is not None:
        for key in ("probability", "probabilities", "identified_by"):
            result[key] = identification[key]
        for key in ("network_probabilities", "evidence", "synthesis", "yielded"):  # where set
            if key in identification:
                result[key] = identification[key]
    return {**result, "estimators": used}
