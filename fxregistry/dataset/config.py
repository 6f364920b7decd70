"""The options of ``fxr build``: everything that decides a dataset's contents.

Torch-free, so that the command line can read the options' defaults and
help without importing the engine. Each field's ``metadata`` is its command
line: ``help``, and where the typed text differs from the stored value a
``parse`` function (``show`` turns the default back into text for
``--help``); ``fxregistry.cli.options`` makes one option of each field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fxregistry.audio.features import KINDS
from fxregistry.audio.io import DELIVERIES
from fxregistry.dataset.augment import AugmentPolicy, parse_augment, show_augment
from fxregistry.errors import FxrError, check_finite, check_range

# The study's clip length; also the window of a model whose record predates storing it.
CLIP_SECONDS = 2.0

__all__ = [
    "DEFAULT_SOURCE",
    "DELIVER_KINDS",
    "SPLIT_BY",
    "BuildConfig",
    "format_split",
    "show_deliver",
    "parse_deliver",
    "parse_features",
    "parse_grid",
    "parse_level",
    "parse_shard",
    "parse_split",
    "parse_split_by",
]

DEFAULT_SOURCE = "synth"
SPLIT_BY = ("recording", "group")
# Seeds feed numpy and torch generators, which take unsigned 32-bit (or larger) integers.
MAX_SEED = 2**32 - 1


def parse_features(text: str) -> tuple[str, ...]:
    """``"mel,stft"`` -> ``("mel", "stft")``."""
    return tuple(kind.strip() for kind in text.split(",") if kind.strip())


# How a build can deliver wet clips (--deliver): each a share of them, at most one each;
# an mp3's bitrate is drawn among io.DELIVERIES's.
DELIVER_KINDS = tuple(dict.fromkeys(d.partition(":")[0] for d in DELIVERIES))


def parse_deliver(text: str) -> tuple[tuple[str, float], ...]:
    """``"16bit:0.3,mp3:0.2"`` -> ``(("16bit", 0.3), ("mp3", 0.2))``; ``"none"`` -> ``()``."""
    if text.strip() in ("", "none"):
        return ()
    parsed = []
    for part in text.split(","):
        kind, _, share = part.strip().partition(":")
        try:
            parsed.append((kind, float(share)))
        except ValueError:
            raise FxrError(
                f"--deliver {part.strip()!r} is not KIND:SHARE, e.g. 16bit:0.5"
            ) from None
    return tuple(parsed)


def show_deliver(deliver: tuple[tuple[str, float], ...]) -> str:
    """The inverse of :func:`parse_deliver`."""
    return ",".join(f"{kind}:{share:g}" for kind, share in deliver) or "none"


def parse_split(text: str) -> tuple[float, float, float]:
    """``"80/10/10"`` -> the three shares as fractions of their sum."""
    try:
        parts = [float(p) for p in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or not all(map(math.isfinite, parts)) or sum(parts) <= 0 or min(parts) < 0:
        raise FxrError(f"--split {text!r} is not TRAIN/VALID/TEST, e.g. 80/10/10")
    return tuple(p / sum(parts) for p in parts)


def format_split(split: tuple[float, float, float]) -> str:
    """The inverse of :func:`parse_split`, in percent."""
    return "/".join(f"{100 * share:g}" for share in split)


def parse_split_by(text: str) -> str:
    # GuitarSet's groups are its players; the CLI has always taken both words.
    return "group" if text == "player" else text


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)``."""
    k, _, n = text.partition("/")
    try:
        return int(k), int(n)
    except ValueError:
        raise FxrError(f"--shard takes K/N, two whole numbers, not {text!r}") from None


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides the contents of a dataset (stored in the file)."""

    effect: str = field(
        metadata={
            "help": "A registered effect (fxr list-effects); several, comma-separated, or all: "
            "a dataset for identification (which effect, or none)."
        }
    )
    source: str = field(
        default=DEFAULT_SOURCE,
        metadata={
            "help": "synth, synth:N (N takes), a folder (or folder:PATH), guitarset:PATH "
            "(fxr list-sources)."
        },
    )
    grid: str = field(
        default="paper",
        metadata={
            "help": "paper: every grid combination per clip; random:N: N settings per clip, "
            "drawn from each parameter's range on its scale."
        },
    )
    clip_seconds: float = field(
        default=CLIP_SECONDS, metadata={"help": "Length of the non-overlapping clips, in seconds."}
    )
    seed: int = field(
        default=0,
        metadata={
            "help": "Seed of the splits, the random settings and the synthesis: the same "
            "seed and inputs give the same file."
        },
    )
    max_clips: int | None = field(
        default=None, metadata={"help": "Stop after N clips, shared across the splits."}
    )
    min_level_db: float = field(
        default=-60.0,
        metadata={"help": "Skip (and count) clips whose RMS level is below this (dBFS)."},
    )
    level: str = field(
        # Real recordings come at any level, and level decides what some effects do
        # (a threshold, a fixed noise floor): train on the range they come in
        # (docs/dataset-format.md).
        default="random:-20:-1",
        metadata={
            "help": "Clip level: peak:DB (scale each clip's peak to DB dBFS), "
            "random:LOW:HIGH (draw the peak) or as-is (keep the recording's level)."
        },
    )
    # What the dry clips go through before the level policy (fxregistry.dataset.augment).
    # On by default: trained on augmented data, fxnet2 held better on real recordings,
    # wherever it was not already at its floor; with dynamics too, two paired models read
    # them better still (docs/real-audio.md).
    augment: AugmentPolicy = field(
        default=parse_augment("default"),
        metadata={
            "help": "Augment each dry clip before the effect renders it (the pair stays "
            "exact): none, default (room,colour,noise,dynamics) or a comma list of room (a small "
            "or medium reverb), colour (microphone and instrument EQ), noise (a noise floor "
            "40-70 dB below the clip), dynamics (swells and dips of 10-40 dB), silence (gaps "
            "of exact zeros, 5-40 % of the clip), drive (saturation or clipping 0.5-12 dB "
            "deep).",
            "parse": parse_augment,
            "show": show_augment,
        },
    )
    # What a reference track's file does to the wet after the effect: not part of the
    # pair (the stored dry stays as augmented), so that the networks hear it as delivered.
    deliver: tuple[tuple[str, float], ...] = field(
        default=(),
        metadata={
            "help": "Deliver shares of the wet clips as files do, after the effect: none, or "
            "a comma list of 16bit:SHARE (rounded to 16-bit samples) and mp3:SHARE (encoded "
            "at 128, 192 or 320 kbps, drawn); the dry clips are kept as they are.",
            "parse": parse_deliver,
            "show": show_deliver,
        },
    )
    # Another implementation of the same setting (Effect.variants): the pair stays exact
    # under the one drawn, so that the networks hear the effect, not one renderer of it.
    # Half by default: trained on the effect's own render alone, the networks named no band
    # limit another resampler made (docs/estimate.md); an effect without variants is
    # rendered as before, example for example.
    variants: float = field(
        default=0.5,
        metadata={
            "help": "Share of the examples rendered by one of the effect's variants, "
            "drawn at random: other implementations of the same settings (another "
            "resampler; fxr list-effects --json); 0: the effect's own render only."
        },
    )
    # None: the kinds the effect declares (Effect.features), measured per effect.
    features: tuple[str, ...] | None = field(
        default=None,
        metadata={
            "help": "Comma list of mel, stft, levels (stored in dB): the study's Mel "
            "spectrogram, a linear-frequency one, each frame's share of samples per level "
            "[default: the kinds the effect declares (fxr list-effects); mel over several "
            "effects].",
            "parse": parse_features,
        },
    )
    keep_audio: bool = field(
        default=False, metadata={"help": "Also store the dry and wet clip audio (float32)."}
    )
    # One effect's file labelled as a file over several is (each clip untouched too, each
    # example none or the effect): it trains a detector of the effect, a model that might
    # hear what its blind check cannot (benchmarks/gentle_compression.py measures some).
    identify: bool = field(
        default=False,
        metadata={
            "help": "Label the examples for identification (the effect, or none) and add "
            "each clip untouched, as several effects always are: one effect's file then "
            "trains a detector of it."
        },
    )
    # Also the spectrograms of wet minus dry audio: what the effect added or removed.
    # On by default: it shows changes too small for the wet spectrogram (docs/training.md).
    residual: bool = field(
        default=True,
        metadata={
            "help": "Also store spectrograms of wet minus dry audio (fit's default input "
            "then reads them)."
        },
    )
    split: tuple[float, float, float] = field(
        default=(0.8, 0.1, 0.1),
        metadata={
            "help": "Train/valid/test shares of the recordings.",
            "parse": parse_split,
            "show": format_split,
        },
    )
    split_by: str = field(
        default="recording",
        metadata={
            "help": "Keep each recording (or group: GuitarSet's player) in one split.",
            "choices": (*SPLIT_BY, "player"),
            "parse": parse_split_by,
        },
    )
    strict: bool = field(
        default=False,
        metadata={"help": "Stop at the first unreadable file instead of skipping it."},
    )
    compress: bool = field(
        default=False,
        metadata={"help": "gzip the spectrograms and audio: ~20% smaller, ~30% slower to build."},
    )
    # (K, N): the K-th of N parts, 1 <= K <= N
    shard: tuple[int, int] | None = field(
        default=None,
        metadata={
            "help": "Build only the K-th of N parts of the recordings (1 <= K <= N); "
            "see fxr merge.",
            "metavar": "K/N",
            "parse": parse_shard,
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.augment, str):  # BuildConfig(augment="default") from Python
            object.__setattr__(self, "augment", parse_augment(self.augment))
        if not isinstance(self.augment, AugmentPolicy):
            raise FxrError(f"--augment takes a policy, not {self.augment!r}")
        if isinstance(self.deliver, str):  # BuildConfig(deliver="16bit:0.5"), a recipe's
            object.__setattr__(self, "deliver", parse_deliver(self.deliver))
        object.__setattr__(self, "deliver", tuple((k, float(v)) for k, v in self.deliver))
        if isinstance(self.features, str):  # BuildConfig(features="levels"), a recipe's
            object.__setattr__(self, "features", parse_features(self.features))
        parse_grid(self.grid)
        if self.shard is not None:
            k, n = self.shard
            if not 1 <= k <= n:
                raise FxrError(f"--shard K/N needs 1 <= K <= N, got {k}/{n}")
            if self.max_clips is not None:
                raise FxrError("--max-clips cannot be combined with --shard (quotas are global)")
        parse_level(self.level)
        check_range("--clip-seconds", self.clip_seconds, above=0)
        check_finite("--min-level-db", self.min_level_db)
        check_range("--seed", self.seed, at_least=0, at_most=MAX_SEED)
        for kind, share in self.deliver:
            if kind not in DELIVER_KINDS:
                raise FxrError(f"--deliver takes {', '.join(DELIVER_KINDS)}, not {kind!r}")
            check_range(f"--deliver {kind}", share, at_least=0, at_most=1)
        check_range("--variants", self.variants, at_least=0, at_most=1)
        if sum(share for _, share in self.deliver) > 1:
            raise FxrError("--deliver: the shares add up to more than 1")
        if self.max_clips is not None:
            check_range("--max-clips", self.max_clips, at_least=1)
        if len(self.split) != 3 or min(self.split) < 0 or not math.isclose(sum(self.split), 1):
            raise FxrError(f"--split needs three fractions that add up to 1, got {self.split}")
        if self.split_by not in SPLIT_BY:
            raise FxrError(f"--split-by must be 'recording' or 'group', not {self.split_by!r}")
        if self.features is None:
            return
        for kind in self.features:
            if kind not in KINDS:
                raise FxrError(f"--features takes {', '.join(KINDS)}, not {kind!r}")
        if not self.features:
            raise FxrError(f"--features needs at least one of {', '.join(KINDS)}")


def parse_grid(text: str) -> int | None:
    """``"paper"`` -> None (the full grid); ``"random:N"`` -> N settings per clip."""
    if text == "paper":
        return None
    kind, _, n = text.partition(":")
    if kind == "random" and n.isdigit() and int(n) >= 1:
        return int(n)
    raise FxrError(f"--grid must be 'paper' or 'random:N' with N >= 1, got {text!r}")


def parse_level(text: str) -> tuple[str, float, float]:
    """``as-is``, ``peak:DB`` or ``random:LOW:HIGH`` (peak dBFS drawn per clip)."""
    kind, *values = text.split(":")
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        numbers = None
    if numbers and not all(map(math.isfinite, numbers)):
        numbers = None  # float() takes "nan" and "inf"
    if kind == "as-is" and not values:
        return ("as-is", 0.0, 0.0)
    if kind == "peak" and numbers and len(numbers) == 1:
        return ("peak", numbers[0], numbers[0])
    if kind == "random" and numbers and len(numbers) == 2 and numbers[0] <= numbers[1]:
        return ("random", numbers[0], numbers[1])
    raise FxrError(f"--level must be 'as-is', 'peak:DB' or 'random:LOW:HIGH', got {text!r}")
