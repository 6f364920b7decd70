"""``fxr fit``: options, batches, the trainer, devices, run directories.

``config`` holds the options (torch-free, shared with the CLI); ``fit`` is
the entry point; ``stages`` plans them; ``trainer`` sets up and runs the
epoch loop, with ``checkpoints`` and ``metrics``; ``batches`` feeds it;
``runs`` owns what a run directory holds; ``device`` and ``distributed``
say where it runs.
"""
