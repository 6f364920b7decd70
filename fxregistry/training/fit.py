"""``fxr fit``: a new, replaced or resumed run directory, trained by :class:`Trainer`.

A run directory that exists is kept unless ``force`` replaces it or
``resume`` continues it from its checkpoint with its own ``config.json``
(only where it runs may change: the device and the loader processes).
Under ``torchrun`` every process calls :func:`fit`; rank 0 alone writes and
speaks (see :mod:`fxregistry.training.distributed`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fxregistry import __version__, registry
from fxregistry.dataset.header import read_header
from fxregistry.errors import FxrError
from fxregistry.files import write_json
from fxregistry.interrupts import sigterm_as_ctrl_c
from fxregistry.progress import progress_bar
from fxregistry.training.config import FitConfig, Stage
from fxregistry.training.distributed import join
from fxregistry.training.metrics import read_metrics
from fxregistry.training.runs import RunDirectory, locate_dataset
from fxregistry.training.trainer import Trainer

__all__ = ["FitReport", "fit"]


@dataclass
class FitReport:
    run: Path
    stages: list[Stage]
    epochs_run: int = 0
    final: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    main: bool = True  # False in every torchrun process but rank 0, which speaks for all


@sigterm_as_ctrl_c()  # a scheduler's SIGTERM stops as Ctrl-C does, checkpoint kept
def fit(
    config: FitConfig,
    run: str | Path,
    *,
    resume: bool = False,
    force: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> FitReport:
    """Train as ``config`` says into the run directory ``run`` (see fxregistry.training.runs)."""
    run_dir = RunDirectory(Path(run))
    world = join(config.device)
    if not world.main:
        log = lambda line: None  # noqa: E731 - one voice: rank 0's
    if run_dir.path.exists() and not run_dir.path.is_dir():
        raise FxrError(f"{run}: not a directory (a run directory is needed)")
    if resume:
        config = _resumed_config(run_dir, config)
    elif run_dir.path.exists() and any(run_dir.path.iterdir()) and not force:
        raise FxrError(f"{run} exists; pass --resume to continue it or --force to replace it")
    else:
        config = _resolved(config)
    # A fresh fit that fails before its first checkpoint removes what it made (below).
    fresh = world.main and not resume
    created = _first_missing(run_dir.path)
    world.barrier()  # every rank has looked at the run before rank 0 writes it
    trainer = Trainer(config, run_dir, world, log)
    trainer.setup()  # writes nothing: a failure here leaves the run directory as it was
    try:
        if resume:
            _resume(trainer)
        elif world.main:
            _start(trainer)
        world.barrier()
        log(
            f"fitting {config.model} on {config.data} ({trainer.effect_spec['name']}, "
            f"input {config.input}, {config.normalization} normalization) on {trainer.device}"
            + (f" x {world.size} processes" if world.distributed else "")
            + ": "
            + " then ".join(f"{s.name} ({s.epochs} epochs)" for s in trainer.stages)
        )
        try:
            with progress_bar(transient=True, enabled=world.main) as progress:
                epochs = trainer.train(progress)
        finally:
            if world.main:
                _write_loss_figure(run_dir)
    except KeyboardInterrupt:
        if fresh and not run_dir.checkpoint.exists():
            _remove_unfinished(run_dir, created)
            raise  # nothing to resume: a plain interrupt
        return FitReport(run_dir.path, trainer.stages, interrupted=True, main=world.main)
    except BaseException:
        if fresh and not run_dir.checkpoint.exists():
            _remove_unfinished(run_dir, created)
        raise
    world.barrier()
    return FitReport(run_dir.path, trainer.stages, epochs_run=epochs, main=world.main)


def _resolved(config: FitConfig) -> FitConfig:
    """``config`` as the run records it: every default that depends on the model or the data
    decided, and the data's path absolute (evaluate finds it from any folder)."""
    lr = config.lr if config.lr is not None else registry.get_model(config.model).lr
    input_mode = config.input
    if input_mode is None:
        input_mode = "pair+residual" if read_header(config.data).residual else "pair"
    return replace(config, data=str(Path(config.data).resolve()), lr=lr, input=input_mode)


def _start(trainer: Trainer) -> None:
    """A fresh run directory: what an earlier fit left is removed, the config written."""
    run = trainer.run
    if run.path.exists():
        for path in run.fit_outputs():
            path.unlink(missing_ok=True)
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FxrError(f"{exc.filename or run.path}: cannot be created ({exc.strerror})") from None
    write_json(_run_config(trainer), run.config)


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None if ``path`` exists)."""
    path = Path(os.path.abspath(path))
    if path.exists():
        return None
    while not path.parent.exists():
        path = path.parent
    return path


def _remove_unfinished(run: RunDirectory, created: Path | None) -> None:
    """Undo a fresh fit that stopped before its first checkpoint: nothing in it could be
    resumed, and a run directory holding only ``config.json`` would pass for a run. Folders
    this fit made go whole; in a folder that was there, only the fit's files."""
    with contextlib.suppress(OSError):
        if created is not None:
            shutil.rmtree(created)
            return
        for path in (run.config, *run.fit_outputs()):
            path.unlink(missing_ok=True)


def _resume(trainer: Trainer) -> None:
    trainer.load_checkpoint()
    at = trainer.position
    if trainer.world.main:
        trainer.metrics.truncate([s.name for s in trainer.stages], at.stage, at.epoch)
    if at.stage >= len(trainer.stages):
        trainer.log(f"{trainer.run.path} is already complete")
    else:
        stage = trainer.stages[at.stage]
        trainer.log(
            f"resuming {trainer.run.path}: {stage.name} epoch {at.epoch + 1}, batch {at.step}"
        )


def _run_config(trainer: Trainer) -> dict[str, Any]:
    """``config.json``: the options and what they resolved to."""
    config = trainer.config
    return {
        "fit": config.as_dict(),
        "fxr_version": __version__,
        "effect": trainer.effect_spec["name"],
        "data": trainer.data_info,
        "features": trainer.features.as_dict(),
        "normalization": trainer.normalization.as_dict(),
        "device": str(trainer.device),
        "in_channels": trainer.in_channels,
        "model": trainer.spec.as_dict(),
        "stages": [asdict(s) for s in trainer.stages],
        "train_examples": len(trainer.train_batches.data),
        "valid_examples": len(trainer.valid_batches.data),
        # Under torchrun each of `processes` takes batch_size / processes of every batch.
        "processes": trainer.world.size,
        "global_batch_size": config.batch_size,
        "lr": config.lr,
    }


def _resumed_config(run: RunDirectory, given: FitConfig) -> FitConfig:
    """The run's own options; only where it runs may change, and where its dataset now is
    (``given.data``, when it names a file)."""
    if not run.config.exists() or not run.checkpoint.exists():
        raise FxrError(f"{run.path}: no run to resume (config.json and checkpoint.pt are needed)")
    saved = run.read_config().get("fit")
    try:
        config = FitConfig(**saved)
    except TypeError:  # not a dict, or keys FitConfig does not take
        raise FxrError(f'{run.config}: damaged, its "fit" options are unreadable') from None
    if given.data and Path(given.data).is_file():
        data = Path(given.data).resolve()
    else:
        data = locate_dataset(config.data, run.path)
    return replace(config, data=str(data), device=given.device, workers=given.workers)


def _write_loss_figure(run: RunDirectory) -> None:
    rows = read_metrics(run.metrics)
    if rows:
        from fxregistry.figures import loss_figure  # matplotlib, only when there is a figure

        loss_figure(rows, run.loss_figure)
