"""``fxr fit``: train a registered model on a dataset, in one or two stages.

Stages (each with its own Adam optimizer and StepLR schedule, logged apart):

- ``train``: the whole model, L1 loss on the normalized parameters.
- with ``freeze_encoder``: ``pretrain`` (reconstruct the dry spectrogram from
  the wet one, L2 loss), then ``head`` (encoder frozen, batch-norm statistics
  included; only the head learns, L1 loss). ``init`` loads a pretrained
  encoder from another run instead of the ``pretrain`` stage.

Reproducible: the weights come from ``torch.manual_seed(seed)`` and every
epoch's batch order from ``(seed, stage, epoch)``, so on the CPU the same seed
gives the same weights, and a run interrupted (Ctrl-C) and resumed with
``--resume`` ends where an uninterrupted one would: the checkpoint records
the stage, the epoch and the batches already done.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from fxregistry import __version__, registry
from fxregistry.dataset.header import effect_spec, feature_configs, open_dataset
from fxregistry.errors import FxrError
from fxregistry.training.batches import (
    Batch,
    Batches,
    Normalization,
    model_input,
    open_split,
)
from fxregistry.training.config import (
    INPUTS,
    FitConfig,
    Stage,
    StageName,
    Task,
    input_channels,
)
from fxregistry.training.device import autocast, grad_scaler, select_device
from fxregistry.training.distributed import SINGLE, World, device_spec_for, join
from fxregistry.training.runs import load_bundle, make_bundle, save_atomic, write_json_atomic

__all__ = ["FitReport", "fit", "plan_stages"]


@dataclass
class FitReport:
    run: Path
    stages: list[Stage]
    epochs_run: int = 0
    final: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    main: bool = True  # False in every torchrun process but rank 0, which speaks for all


def plan_stages(config: FitConfig) -> list[Stage]:
    """The stages ``config`` asks for, checked against what the model can do."""
    model = registry.get_model(config.model)
    if config.freeze_encoder or config.init:
        if model.encoder is None:
            option = "--freeze-encoder" if config.freeze_encoder else "--init"
            able = [r.name for r in registry.registrations("model").values() if r.item.encoder] or [
                "none installed"
            ]
            raise FxrError(
                f"model {config.model!r} has no encoder, so {option} cannot apply "
                f"(models with one: {', '.join(able)})"
            )
    if not config.freeze_encoder:
        return [Stage(StageName.TRAIN, Task.PARAMETERS, config.epochs)]
    stages = []
    if config.init is None:
        if not model.reconstructs:
            raise FxrError(
                f"model {config.model!r} cannot reconstruct, so its encoder cannot be "
                "pretrained; pass --init with a pretrained run"
            )
        epochs = config.pretrain_epochs or config.epochs
        stages.append(Stage(StageName.PRETRAIN, Task.RECONSTRUCT, epochs))
    stages.append(Stage(StageName.HEAD, Task.PARAMETERS, config.epochs, freeze_encoder=True))
    return stages


# ---------------------------------------------------------------- the loop


class _Trainer:
    """The state of one run: model, data, stages; ``run()`` trains what is left."""

    def __init__(
        self, config: FitConfig, run: Path, log: Callable[[str], None], world: World = SINGLE
    ):
        self.config, self.run_dir, self.log, self.world = config, run, log, world
        self.stages = plan_stages(config)
        self.spec = registry.get_model(config.model)
        self.device = select_device(device_spec_for(world, config.device))
        if world.distributed and self.device.type == "cpu":
            # Processes on one machine share its cores; threads beyond them would fight.
            torch.set_num_threads(max(1, torch.get_num_threads() // world.local_size))
        with open_dataset(config.data) as f:
            self.effect_spec = effect_spec(f)
            kinds = feature_configs(f)
            # What estimate must know of the data the model saw.
            self.data_info = {
                "path": str(config.data),
                "clip_seconds": float(f.attrs["clip_seconds"]),
                "sample_rate": int(f.attrs["sample_rate"]),
                "level": str(f.attrs["level"]),
                "grid": str(f.attrs["grid"]),
                "min_level_db": float(f.attrs["min_level_db"]),
            }
        kind = config.features or next(iter(kinds))
        if kind not in kinds:
            raise FxrError(f"{config.data} has no {kind!r} features (it has: {', '.join(kinds)})")
        self.features = kinds[kind]
        self.normalization = Normalization(config.normalization)
        self.in_channels = input_channels(config.input)

        torch.manual_seed(config.seed)
        self.model = self.spec.build(
            self.in_channels, len(self.effect_spec["parameters"]), **config.hyperparameters
        ).to(self.device)
        if config.init:
            self._load_encoder(config.init)
        data = {
            split: open_split(
                config.data, split, kind, config.in_memory, "residual" in INPUTS[config.input]
            )
            for split in ("train", "valid")
        }
        if len(data["train"]) == 0:
            raise FxrError(f"{config.data} has no training examples")
        part = (world.rank, world.size)
        self.train_batches = Batches(
            data["train"], config.batch_size, self.device, True, config.seed, config.workers, part
        )
        self.valid_batches = Batches(
            data["valid"], config.batch_size, self.device, False, 0, config.workers, part
        )
        self.scaler = grad_scaler(self.device)
        # Position: the next batch to train is `step` of `epoch` of `stage`.
        self.stage, self.epoch, self.step = 0, 0, 0
        self.epoch_loss, self.epoch_samples, self.epoch_seconds = 0.0, 0, 0.0
        self.best = math.inf
        self.optimizer, self.scheduler = self._optimizer()

    # -- parts

    @property
    def encoder(self) -> torch.nn.Module:
        return getattr(self.model, self.spec.encoder)

    def _load_encoder(self, source: str) -> None:
        bundle = load_bundle(source)
        prefix = f"{self.spec.encoder}."
        weights = {
            k[len(prefix) :]: v for k, v in bundle["state_dict"].items() if k.startswith(prefix)
        }
        if not weights:
            raise FxrError(f"{source}: holds no {self.spec.encoder!r} weights to initialize from")
        try:
            self.encoder.load_state_dict(weights)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise FxrError(
                f"{source}: its encoder ({bundle['model']}, {bundle['hyperparameters']}) does not "
                f"fit model {self.config.model!r}: {first}"
            ) from None
        self.log(f"encoder initialized from {source}")

    def _optimizer(self):
        stage = self.stages[self.stage]
        for p in self.model.parameters():
            p.requires_grad_(True)
        if stage.freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.step_model = _Tasks(self.model)
        if self.world.distributed:
            # Rebuilt per stage: DDP hooks the parameters that require grad when it is made.
            # A reconstructing model leaves its head (pretrain) or its decoder (other
            # stages) unused, which DDP must be told to look for; others skip that cost.
            self.step_model = torch.nn.parallel.DistributedDataParallel(
                self.step_model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.spec.reconstructs,
            )
        optimizer = torch.optim.Adam(trainable, lr=self.config.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=self.config.lr_step, gamma=self.config.lr_gamma
        )
        return optimizer, scheduler

    def _train_mode(self) -> None:
        self.model.train()
        if self.stages[self.stage].freeze_encoder:
            self.encoder.eval()  # frozen means its batch-norm statistics too

    def loss(self, task: str, batch: Batch, model=None) -> torch.Tensor:
        model = _Tasks(self.model) if model is None else model
        with autocast(self.device):
            if task is Task.RECONSTRUCT:
                out = model(self.normalization(batch.wet)[:, None], task)
                return F.mse_loss(out.float(), self.normalization(batch.dry)[:, None])
            x = model_input(self.config.input, self.normalization, batch)
            return F.l1_loss(model(x, task).float(), batch.targets)

    @torch.no_grad()
    def validate(self, task: str) -> float | None:
        if len(self.valid_batches.data) == 0:
            return None
        self.model.eval()
        total, n = 0.0, 0
        for batch in self.valid_batches.epoch(0):
            total += float(self.loss(task, batch)) * len(batch.targets)
            n += len(batch.targets)
        total, n = self.world.sum(total, n)
        return total / n if n else None

    # -- checkpoints

    def state(self) -> dict[str, Any]:
        return {
            "position": [self.stage, self.epoch, self.step],
            "epoch_progress": [self.epoch_loss, self.epoch_samples, self.epoch_seconds],
            "best": self.best,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": torch.get_rng_state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.stage, self.epoch, self.step = state["position"]
        self.epoch_loss, self.epoch_samples, self.epoch_seconds = state["epoch_progress"]
        self.best = state["best"]
        self.model.load_state_dict(state["model"])
        if self.stage < len(self.stages):
            self.optimizer, self.scheduler = self._optimizer()
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])

    def save_checkpoint(self) -> None:
        if self.world.main:
            save_atomic(self.state(), self.run_dir / "checkpoint.pt")

    def bundle(self, **extra: Any) -> dict[str, Any]:
        return make_bundle(
            self.model,
            model_name=self.config.model,
            hyperparameters={**self.spec.hyperparameters, **self.config.hyperparameters},
            in_channels=self.in_channels,
            input_mode=self.config.input,
            normalization=self.normalization,
            effect_spec=self.effect_spec,
            features=self.features,
            data=self.data_info,
            **extra,
        )

    # -- the loop

    def run(self, progress) -> FitReport:
        report = FitReport(self.run_dir, self.stages, main=self.world.main)
        while self.stage < len(self.stages):
            stage = self.stages[self.stage]
            while self.epoch < stage.epochs:
                self._run_epoch(stage, progress)
                report.epochs_run += 1
            self.stage, self.epoch = self.stage + 1, 0
            if self.stage < len(self.stages):
                self.optimizer, self.scheduler = self._optimizer()
            self.save_checkpoint()
        if self.world.main:
            save_atomic(self.bundle(), self.run_dir / "model.pt")
            if not (self.run_dir / "best.pt").exists():  # no validation split: best = last
                save_atomic(self.bundle(), self.run_dir / "best.pt")
        return report

    def _run_epoch(self, stage: Stage, progress) -> None:
        batches = len(self.train_batches)
        label = f"{stage.name} {self.epoch + 1}/{stage.epochs}"
        bar = progress.add_task(label, total=batches, completed=self.step, info="")
        self._train_mode()
        started = time.perf_counter()
        try:
            with _stop_requested_on_ctrl_c(self.world.distributed) as stop:
                for batch in self.train_batches.epoch(
                    self.stage * 100_003 + self.epoch, skip=self.step
                ):
                    loss = self.loss(stage.task, batch, self.step_model)
                    self.optimizer.zero_grad(set_to_none=True)
                    self.scaler.scale(loss).backward()
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                    self.step += 1
                    self.epoch_loss += float(loss.detach()) * len(batch.targets)
                    self.epoch_samples += len(batch.targets)
                    seconds = self.epoch_seconds + time.perf_counter() - started
                    progress.update(
                        bar,
                        advance=1,
                        info=f"loss {self.epoch_loss / self.epoch_samples:.4f}  "
                        f"{self.epoch_samples / seconds:.0f} samples/s",
                    )
                    if stop.is_set():
                        # Between two steps the state is whole: save it, then stop.
                        self.epoch_seconds += time.perf_counter() - started
                        self.save_checkpoint()
                        raise KeyboardInterrupt
        finally:
            progress.remove_task(bar)
        seconds = self.epoch_seconds + time.perf_counter() - started
        valid = self.validate(stage.task)
        loss_sum, samples = self.world.sum(self.epoch_loss, self.epoch_samples)
        row = {
            "stage": stage.name,
            "task": stage.task,
            "epoch": self.epoch + 1,
            "train_loss": loss_sum / max(samples, 1),
            "valid_loss": valid,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 3),
            "samples_per_s": round(samples / seconds, 1),
        }
        self.scheduler.step()
        self.epoch, self.step = self.epoch + 1, 0
        self.epoch_loss, self.epoch_samples, self.epoch_seconds = 0.0, 0, 0.0
        if stage.task is Task.PARAMETERS and valid is not None and valid < self.best:
            self.best = valid
            if self.world.main:
                save_atomic(
                    self.bundle(stage=stage.name, epoch=row["epoch"], valid_loss=valid),
                    self.run_dir / "best.pt",
                )
        self.save_checkpoint()
        if self.world.main:
            with open(self.run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
        valid_text = "-" if valid is None else f"{valid:.4f}"
        self.log(
            f"{stage.name} epoch {row['epoch']}/{stage.epochs}: train {row['train_loss']:.4f}, "
            f"valid {valid_text}, {row['samples_per_s']:.0f} samples/s"
        )


class _Tasks(torch.nn.Module):
    """One forward for both tasks, so that DDP sees (and syncs) the reconstruction too."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, task: Task) -> torch.Tensor:
        return self.model.reconstruct(x) if task is Task.RECONSTRUCT else self.model(x)


@contextlib.contextmanager
def _stop_requested_on_ctrl_c(distributed: bool = False):
    """Turn the first Ctrl-C into a request to stop after the current step.

    A step interrupted halfway (batch-norm statistics updated, weights not)
    cannot be resumed exactly; a second Ctrl-C stops at once, and the last
    epoch's checkpoint is then where ``--resume`` starts.
    """
    stop = threading.Event()
    if distributed or threading.current_thread() is not threading.main_thread():
        # Signals reach only the main thread; under torchrun the ranks would stop at
        # different steps, so there Ctrl-C stops at once (resume from the last epoch).
        yield stop
        return

    def request(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, request)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------- entry point


def fit(
    config: FitConfig,
    run: str | Path,
    *,
    resume: bool = False,
    force: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> FitReport:
    """Train as ``config`` says into the run directory ``run`` (see fxregistry.training.runs).

    Under ``torchrun`` every process calls this; see :mod:`fxregistry.distributed`.
    """
    run = Path(run)
    world = join(config.device)
    if not world.main:
        log = lambda line: None  # noqa: E731 - one voice: rank 0's
    if resume:
        config = _resumed_config(run, config)
    elif run.exists() and any(run.iterdir()) and not force:
        raise FxrError(f"{run} exists; pass --resume to continue it or --force to replace it")
    world.barrier()  # every rank has looked at the run before rank 0 writes it
    trainer = _Trainer(config, run, log, world)
    if resume:
        state = torch.load(run / "checkpoint.pt", map_location=trainer.device, weights_only=True)
        trainer.restore(state)
        if world.main:
            _truncate_metrics(run / "metrics.jsonl", trainer)
        stage, epoch, step = state["position"]
        if stage >= len(trainer.stages):
            log(f"{run} is already complete")
        else:
            log(f"resuming {run}: {trainer.stages[stage].name} epoch {epoch + 1}, batch {step}")
    elif world.main:
        if run.exists():
            for name in ("checkpoint.pt", "model.pt", "best.pt", "metrics.jsonl", "loss.png"):
                (run / name).unlink(missing_ok=True)
        run.mkdir(parents=True, exist_ok=True)
        write_json_atomic(_run_config(config, trainer), run / "config.json")
    world.barrier()
    log(
        f"fitting {config.model} on {config.data} ({trainer.effect_spec['name']}, "
        f"input {config.input}, {config.normalization} normalization) on {trainer.device}"
        + (f" x {world.size} processes" if world.distributed else "")
        + ": "
        + " then ".join(f"{s.name} ({s.epochs} epochs)" for s in trainer.stages)
    )
    progress = _progress(enabled=world.main)
    try:
        with progress:
            report = trainer.run(progress)
    except KeyboardInterrupt:
        return FitReport(run, trainer.stages, interrupted=True, main=world.main)
    finally:
        if world.main:
            plot_losses(run)
    world.barrier()
    return report


def _run_config(config: FitConfig, trainer: _Trainer) -> dict[str, Any]:
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


def _resumed_config(run: Path, given: FitConfig) -> FitConfig:
    if not (run / "config.json").exists() or not (run / "checkpoint.pt").exists():
        raise FxrError(f"{run}: no run to resume (config.json and checkpoint.pt are needed)")
    saved = json.loads((run / "config.json").read_text())["fit"]
    # The run's own options win; only where it runs may change.
    return replace(FitConfig(**saved), device=given.device, workers=given.workers)


def _truncate_metrics(path: Path, trainer: _Trainer) -> None:
    """Drop metric lines of epochs after the checkpoint (written after it was saved)."""
    if not path.exists():
        return
    names = [s.name for s in trainer.stages]
    kept = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if (names.index(row["stage"]), row["epoch"]) <= (trainer.stage, trainer.epoch):
            kept.append(line)
    path.write_text("".join(line + "\n" for line in kept))


def plot_losses(run: Path) -> None:
    """``loss.png``: train and validation loss per epoch, one panel per stage."""
    path = run / "metrics.jsonl"
    if not path.exists() or not path.read_text().strip():
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in path.read_text().splitlines()]
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    fig, axes = plt.subplots(1, len(stages), figsize=(5 * len(stages), 3.5), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        mine = [r for r in rows if r["stage"] == stage]
        epochs = [r["epoch"] for r in mine]
        ax.plot(epochs, [r["train_loss"] for r in mine], marker="o", label="train")
        if any(r["valid_loss"] is not None for r in mine):
            ax.plot(epochs, [r["valid_loss"] for r in mine], marker="o", label="valid")
        loss = "L2 (reconstruction)" if mine[0]["task"] == "reconstruct" else "L1 (parameters)"
        ax.set(title=stage, xlabel="epoch", ylabel=loss, yscale="log")
        ax.legend()
    fig.tight_layout()
    partial = run / "loss.png.partial"
    fig.savefig(partial, format="png", dpi=100)
    plt.close(fig)
    partial.replace(run / "loss.png")


def _progress(enabled: bool = True):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        disable=not (enabled and console.is_terminal),
        transient=True,
    )
