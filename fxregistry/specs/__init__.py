"""What plugins describe: effects and their parameters, dry-audio sources, model architectures.

Plain frozen dataclasses; the engine works from these descriptions alone.
"""
