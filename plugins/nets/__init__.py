"""Torch modules of the built-in model plugins, imported only when a model is built."""
