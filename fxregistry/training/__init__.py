"""``fxr fit``: options, batches, the trainer, devices, run directories."""
