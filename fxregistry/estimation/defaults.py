"""``fxr estimate WET`` without a run: the default estimators the plugins ship.

1. Which effect: unless ``--effect`` names it, the estimator that identifies
   effects (a paired one when the dry audio is given and one is installed,
   else the blind one) ranks every effect it knows, and none. Blind, the
   network is overruled by evidence it cannot match: a wet that is an exact
   fixed point of an installed exact projection (an effect declaring
   ``projection`` at most ``fixed_point.EXACT``: quantization) at one of its
   settings was processed by it (``identified_by`` says which decided).
   When none is the most probable, that is the answer: no parameters.
2. Which settings: the effect's own estimator, paired when the dry audio is
   given and one is installed, else blind (``--refine`` still uses the dry).
   It runs as ``fxr estimate RUN WET`` would with its model file.

The result is that of step 2 (or 1, for none), plus the identification's
``probability`` and ``probabilities`` and the ``estimators`` used.
"""

from __future__ import annotations

import os
from typing import Any

from fxregistry import registry
from fxregistry.errors import FxrError
from fxregistry.estimation.estimate import estimate
from fxregistry.specs.estimator import Estimator

__all__ = ["installed_estimators", "pick_estimator", "estimate_with_defaults"]


def installed_estimators() -> list[Estimator]:
    return [reg.item for reg in registry.registrations("estimator").values()]


def pick_estimator(
    estimators: list[Estimator], effect: str | None, paired: bool
) -> Estimator | None:
    """The estimator of ``effect`` (None: identification) for the input at hand.

    With the dry audio a paired estimator is preferred and a blind one will
    do; without it only a blind one can answer.
    """
    usable = [e for e in estimators if e.effect == effect and (paired or not e.needs_dry)]
    usable.sort(key=lambda e: (e.needs_dry != paired, e.name))
    return usable[0] if usable else None


def _none_installed(what: str, estimators: list[Estimator]) -> FxrError:
    listed = ", ".join(e.name for e in estimators) or "none"
    return FxrError(
        f"no default estimator {what} is installed (installed: {listed}; fxr "
        "list-estimators); train one with `make models`, or pass a run: fxr estimate RUN WET"
    )


def _exact_fixed_point(wet_path: str | os.PathLike) -> str | None:
    """The installed exact projection that the wet's loudest window is a fixed point of.

    Exact fixed points are not found by chance: audio that was never quantized
    lies on no grid of levels."""
    from fxregistry.audio.io import SAMPLE_RATE, rms_db
    from fxregistry.estimation.estimate import read_usable, windows
    from fxregistry.estimation.fixed_point import EXACT, fixed_point_setting

    clip = int(2 * SAMPLE_RATE)
    loudest = max(windows(read_usable(wet_path, clip), clip), key=rms_db)
    for reg in registry.registrations("effect").values():
        effect = reg.item
        if effect.projection is not None and effect.projection <= EXACT:
            if fixed_point_setting(effect, loudest) is not None:
                return effect.name
    return None


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
    used, identification = [], None
    if effect is None:
        identifier = pick_estimator(estimators, None, paired)
        if identifier is None:
            raise _none_installed("that identifies the effect (name it with --effect)", estimators)
        identification = estimate(identifier.file(), wet_path, dry_path, device=device)
        identification["identified_by"] = identifier.name
        if dry_path is None:
            exact = _exact_fixed_point(wet_path)
            if exact is not None and exact != identification["effect"]:
                identification["effect"], identification["identified_by"] = exact, "fixed point"
        used.append(identifier.name)
        effect = identification["effect"]
        if effect is None:  # no registered effect shows in the audio
            return {**identification, "estimators": used}
    setter = pick_estimator(estimators, effect, paired)
    if setter is None:
        raise _none_installed(f"of {effect!r} settings", estimators)
    result = estimate(
        setter.file(), wet_path, dry_path, refine=refine, render_to=render_to, device=device
    )
    used.append(setter.name)
    if identification is not None:
        for key in ("probability", "probabilities", "identified_by"):
            result[key] = identification[key]
    return {**result, "estimators": used}
