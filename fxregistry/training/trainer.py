"""The trainer of ``fxr fit``: set up once, then train the stages' epochs in order.

Each stage (:mod:`~fxregistry.training.stages`) has its own Adam optimizer and
StepLR schedule and is logged apart.

Read :class:`Trainer` top to bottom: :meth:`~Trainer.setup` builds the device,
the dataset's description, the model, the data and, per stage, what trains,
the DDP wrapper, the optimizer and the schedule; :meth:`~Trainer.train` runs
the epochs left; at the end of each epoch the checkpoint
(:mod:`~fxregistry.training.checkpoints`) and the metrics
(:mod:`~fxregistry.training.metrics`) are written.

Reproducible: the weights come from ``torch.manual_seed(seed)`` and every
epoch's batch order from ``(seed, stage, epoch)``, so on the CPU the same seed
gives the same weights, and a run interrupted (Ctrl-C) and resumed ends where
an uninterrupted one would: the checkpoint records the stage, the epoch and
the batches already done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from fxregistry import registry
from fxregistry.dataset.header import read_header
from fxregistry.errors import FxrError
from fxregistry.training.batches import Batch, Batches, Normalization, model_input, open_split
from fxregistry.training.checkpoints import Checkpoint, Position
from fxregistry.training.config import INPUTS, FitConfig, Stage, Task, input_channels
from fxregistry.training.device import autocast, grad_scaler, select_device
from fxregistry.training.distributed import SINGLE, World, device_spec_for
from fxregistry.training.identify import class_logits
from fxregistry.training.metrics import EpochMetrics, MetricsLogger
from fxregistry.training.runs import RunBundle, RunDirectory
from fxregistry.training.stages import plan_stages

__all__ = ["Trainer"]

# Every epoch's batch order is drawn from (seed, stage * this + epoch).
_STAGE_STRIDE = 100_003


class Trainer:
    """One fit into one run directory; only the main process writes there."""

    def __init__(
        self,
        config: FitConfig,
        run: RunDirectory,
        world: World = SINGLE,
        log: Callable[[str], None] = lambda line: None,
    ):
        self.config, self.run, self.world, self.log = config, run, world, log
        self.metrics = MetricsLogger(run.metrics, log, write=world.main)
        self.position = Position()

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        """Build every part; raises :class:`FxrError` before anything is written."""
        self.spec = registry.get_model(self.config.model)
        self.device = self._setup_device()
        self._setup_dataset()
        self.stages = plan_stages(self.config, self.task)
        self.model = self._setup_model()
        if self.config.init:
            self._load_encoder(self.config.init)
        self.train_batches, self.valid_batches = self._setup_data()
        self.scaler = grad_scaler(self.device)
        self._setup_stage()

    def _setup_device(self) -> torch.device:
        device = select_device(device_spec_for(self.world, self.config.device))
        if self.world.distributed and device.type == "cpu":
            # Processes on one machine share its cores; threads beyond them would fight.
            torch.set_num_threads(max(1, torch.get_num_threads() // self.world.local_size))
        return device

    def _setup_dataset(self) -> None:
        """What the run records of the dataset, and the features and inputs it trains on."""
        config = self.config
        header = read_header(config.data)
        self.effect_spec = header.effect_spec
        # A file over several effects trains identification: one output per class.
        self.classes = header.classes
        self.task = Task.PARAMETERS if self.classes is None else Task.IDENTIFY
        kinds = header.features
        self.data_info = {  # what estimate must know of the data the model saw
            "path": str(config.data),
            "clip_seconds": header.clip_seconds,
            "sample_rate": header.sample_rate,
            "level": header.level,
            "grid": header.grid,
            "min_level_db": header.min_level_db,
            **({"deliver": header.deliver} if header.deliver else {}),  # as files held them
        }
        self.feature_kind = config.features or next(iter(kinds))
        if self.feature_kind not in kinds:
            raise FxrError(
                f"{config.data} has no {self.feature_kind!r} features (it has: {', '.join(kinds)})"
            )
        self.features = kinds[self.feature_kind]
        self.normalization = Normalization(config.normalization)
        self.in_channels = input_channels(config.input)

    def _setup_model(self) -> torch.nn.Module:
        torch.manual_seed(self.config.seed)  # the initial weights come from the seed alone
        model = self.spec.build(self.in_channels, self.outputs, **self.config.hyperparameters)
        return model.to(self.device)

    @property
    def outputs(self) -> int:
        """The model's outputs: one per parameter, or per class for identification."""
        return len(self.effect_spec["parameters"] if self.classes is None else self.classes)

    @property
    def encoder(self) -> torch.nn.Module:
        return getattr(self.model, self.spec.encoder)

    def _load_encoder(self, source: str) -> None:
        """``--init``: the encoder's weights from another run or bundle."""
        bundle = RunBundle.load(source)
        prefix = f"{self.spec.encoder}."
        weights = {
            k[len(prefix) :]: v for k, v in bundle.state_dict.items() if k.startswith(prefix)
        }
        if not weights:
            raise FxrError(f"{source}: holds no {self.spec.encoder!r} weights to initialize from")
        try:
            self.encoder.load_state_dict(weights)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise FxrError(
                f"{source}: its encoder ({bundle.model_name}, {bundle.hyperparameters}) does not "
                f"fit model {self.config.model!r}: {first}"
            ) from None
        self.log(f"encoder initialized from {source}")

    def _setup_data(self) -> tuple[Batches, Batches]:
        config = self.config
        residual = "residual" in INPUTS[config.input]
        train, valid = (
            open_split(config.data, split, self.feature_kind, config.in_memory, residual)
            for split in ("train", "valid")
        )
        if len(train) == 0:
            raise FxrError(f"{config.data} has no training examples")
        part = (self.world.rank, self.world.size)
        size, seed, workers = config.batch_size, config.seed, config.workers
        return (
            Batches(train, size, self.device, True, seed, workers, part),
            Batches(valid, size, self.device, False, 0, workers, part),
        )

    def _setup_stage(self) -> None:
        """Made again per stage: what trains, the DDP wrapper, the optimizer, the schedule."""
        trainable = self._set_trainable(self.stages[self.position.stage])
        # What a training step calls: both tasks in one forward, DDP-wrapped under torchrun.
        self.step_model = self._wrap_distributed(_Tasks(self.model))
        self.optimizer = torch.optim.Adam(trainable, lr=self.config.lr)
        self.scheduler = torch.optim.lr_scheduler.StepLR(
            self.optimizer, step_size=self.config.lr_step, gamma=self.config.lr_gamma
        )

    def _set_trainable(self, stage: Stage) -> list[torch.nn.Parameter]:
        for p in self.model.parameters():
            p.requires_grad_(True)
        if stage.freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)
        return [p for p in self.model.parameters() if p.requires_grad]

    def _wrap_distributed(self, module: torch.nn.Module) -> torch.nn.Module:
        """Under torchrun, ``module`` in DDP, which averages the gradients of the processes.

        Made again per stage: DDP hooks the parameters that require grad when it is made.
        """
        if not self.world.distributed:
            return module
        return torch.nn.parallel.DistributedDataParallel(
            module,
            device_ids=[self.device.index] if self.device.type == "cuda" else None,
            # A reconstructing model leaves its head (pretrain) or its decoder (other
            # stages) unused, which DDP must be told to look for; others skip that cost.
            find_unused_parameters=self.spec.reconstructs,
        )

    # ------------------------------------------------------------ the loop

    def train(self, progress) -> int:
        """Train the epochs left from the position; the number of epochs trained.

        ``progress`` is a :func:`fxregistry.progress.progress_bar`.
        """
        epochs = 0
        while self.position.stage < len(self.stages):
            stage = self.stages[self.position.stage]
            while self.position.epoch < stage.epochs:
                seconds = self._train_epoch(stage, progress)
                self._end_epoch(stage, seconds)
                epochs += 1
            self.position.next_stage()
            if self.position.stage < len(self.stages):
                self._setup_stage()
            self.save_checkpoint()
        self.save_model()
        return epochs

    def _train_epoch(self, stage: Stage, progress) -> float:
        """The epoch's batches left (all, unless resumed); the seconds the epoch took."""
        at = self.position
        label = f"{stage.name} {at.epoch + 1}/{stage.epochs}"
        bar = progress.add_task(label, total=len(self.train_batches), completed=at.step, info="")
        self._train_mode(stage)
        started = time.perf_counter()
        batches = self.train_batches.epoch(at.stage * _STAGE_STRIDE + at.epoch, skip=at.step)
        try:
            with _stop_requested_on_ctrl_c(self.world.distributed) as stop:
                for batch in batches:
                    loss = self._step(stage.task, batch)
                    at.step += 1
                    at.epoch_loss += loss * len(batch.targets)
                    at.epoch_samples += len(batch.targets)
                    seconds = at.epoch_seconds + time.perf_counter() - started
                    progress.update(
                        bar,
                        advance=1,
                        info=f"loss {at.epoch_loss / at.epoch_samples:.4f}  "
                        f"{at.epoch_samples / seconds:.0f} samples/s",
                    )
                    if stop.is_set():
                        # Between two steps the state is whole: save it, then stop.
                        at.epoch_seconds += time.perf_counter() - started
                        self.save_checkpoint()
                        raise KeyboardInterrupt
        finally:
            progress.remove_task(bar)
        return at.epoch_seconds + time.perf_counter() - started

    def _step(self, task: Task, batch: Batch) -> float:
        """One optimizer step on ``batch``; its loss."""
        loss = self.loss(task, batch, self.step_model)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    def _end_epoch(self, stage: Stage, seconds: float) -> None:
        """Validate, step the schedule, keep the best model, checkpoint, record."""
        valid = self.validate(stage.task)
        loss_sum, samples = self.world.sum(self.position.epoch_loss, self.position.epoch_samples)
        metrics = EpochMetrics(
            stage=stage.name,
            task=stage.task,
            epoch=self.position.epoch + 1,
            train_loss=loss_sum / max(samples, 1),
            valid_loss=valid,
            lr=self.optimizer.param_groups[0]["lr"],
            seconds=seconds,
            samples=samples,
        )
        self.scheduler.step()
        self.position.next_epoch()
        if stage.task is not Task.RECONSTRUCT and valid is not None and valid < self.position.best:
            self.position.best = valid
            if self.world.main:
                best = {"stage": str(stage.name), "epoch": metrics.epoch, "valid_loss": valid}
                self.bundle(**best).save(self.run.best)
        self.save_checkpoint()
        self.metrics.epoch(metrics, stage.epochs)

    def _train_mode(self, stage: Stage) -> None:
        self.model.train()
        if stage.freeze_encoder:
            self.encoder.eval()  # frozen means its batch-norm statistics too

    def loss(self, task: Task, batch: Batch, model: torch.nn.Module | None = None) -> torch.Tensor:
        """The stage's loss on ``batch``: L2 on the reconstruction, L1 on the parameters,
        cross-entropy on the class (:func:`~fxregistry.training.identify.class_logits`)."""
        model = _Tasks(self.model) if model is None else model
        with autocast(self.device):
            if task is Task.RECONSTRUCT:
                out = model(self.normalization(batch.wet)[:, None], task)
                return F.mse_loss(out.float(), self.normalization(batch.dry)[:, None])
            x = model_input(self.config.input, self.normalization, batch)
            out = model(x, task).float()
            if task is Task.IDENTIFY:
                return F.cross_entropy(class_logits(out), batch.targets)
            return F.l1_loss(out, batch.targets)

    @torch.no_grad()
    def validate(self, task: Task) -> float | None:
        """The mean loss on the validation split (every process's share), or None without one."""
        if len(self.valid_batches.data) == 0:
            return None
        self.model.eval()
        total, n = 0.0, 0
        for batch in self.valid_batches.epoch(0):
            total += float(self.loss(task, batch)) * len(batch.targets)
            n += len(batch.targets)
        total, n = self.world.sum(total, n)
        return total / n if n else None

    # ------------------------------------------------------------ checkpoints and bundles

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            position=self.position,
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict(),
            rng=torch.get_rng_state(),
        )

    def save_checkpoint(self) -> None:
        if self.world.main:
            self.checkpoint().save(self.run.checkpoint)

    def load_checkpoint(self) -> None:
        """Continue from the run's checkpoint (after :meth:`setup`)."""
        checkpoint = Checkpoint.load(self.run.checkpoint, self.device)
        self.position = checkpoint.position
        self.model.load_state_dict(checkpoint.model)
        if self.position.stage < len(self.stages):
            self._setup_stage()
            self.optimizer.load_state_dict(checkpoint.optimizer)
            self.scheduler.load_state_dict(checkpoint.scheduler)
            self.scaler.load_state_dict(checkpoint.scaler)
        torch.set_rng_state(checkpoint.rng.cpu())  # loaded onto the device, e.g. CUDA

    def bundle(self, **best) -> RunBundle:
        """The model as it is now, with all that estimate needs; ``best``: see RunBundle."""
        return RunBundle.from_module(
            self.model,
            model_name=self.config.model,
            hyperparameters={**self.spec.hyperparameters, **self.config.hyperparameters},
            in_channels=self.in_channels,
            outputs=self.outputs,
            classes=self.classes,
            input=self.config.input,
            normalization=self.normalization,
            effect_spec=self.effect_spec,
            features=self.features,
            data=self.data_info,
            **best,
        )

    def save_model(self) -> None:
        """The final ``model.pt``, and ``best.pt`` when no validation picked one."""
        if self.world.main:
            self.bundle().save(self.run.model)
            if not self.run.best.exists():
                self.bundle().save(self.run.best)


class _Tasks(torch.nn.Module):
    """One forward for both tasks, so that DDP sees (and syncs) the reconstruction too."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, task: Task) -> torch.Tensor:
        return self.model.reconstruct(x) if task is Task.RECONSTRUCT else self.model(x)


@contextlib.contextmanager
def _stop_requested_on_ctrl_c(distributed: bool = False) -> Iterator[threading.Event]:
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
