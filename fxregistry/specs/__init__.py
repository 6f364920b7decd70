"""What plugins describe: effects and their parameters, dry-audio sources, model architectures,
and the trained models (default estimators) they ship.

Plain frozen dataclasses; the engine works from these descriptions alone.
"""
