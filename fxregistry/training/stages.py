"""The stages of a fit, as the options ask for them and the model allows.

- ``train``: the whole model, L1 loss on the normalized parameters; on a
  dataset over several effects, cross-entropy on which effect (identify).
- with ``freeze_encoder``: ``pretrain`` (reconstruct the dry spectrogram from
  the wet one, L2 loss), then ``head`` (encoder frozen, batch-norm statistics
  included; only the head learns, L1 loss). ``init`` loads a pretrained
  encoder from another run instead of the ``pretrain`` stage.
"""

from __future__ import annotations

from fxregistry import registry
from fxregistry.errors import FxrError
from fxregistry.training.config import FitConfig, Stage, StageName, Task

__all__ = ["plan_stages"]


def plan_stages(config: FitConfig, task: Task = Task.PARAMETERS) -> list[Stage]:
    """The stages ``config`` asks for, checked against what the model can do.

    ``task`` is what the last stage learns: the dataset decides it.
    """
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
        return [Stage(StageName.TRAIN, task, config.epochs)]
    stages = []
    if config.init is None:
        if not model.reconstructs:
            raise FxrError(
                f"model {config.model!r} cannot reconstruct, so its encoder cannot be "
                "pretrained; pass --init with a pretrained run"
            )
        epochs = config.pretrain_epochs or config.epochs
        stages.append(Stage(StageName.PRETRAIN, Task.RECONSTRUCT, epochs))
    stages.append(Stage(StageName.HEAD, task, config.epochs, freeze_encoder=True))
    return stages
