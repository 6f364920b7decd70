"""fxr's own default estimators: the models ``make models`` trains, shipped as package data.

``weights/manifest.json`` lists them, each with what it estimates, its
input, its file, and how it was made and measured; the recipe
(``benchmarks/default_estimators.py``) writes the weights and the manifest
together. An estimator whose file is missing is left out, so a manifest
never promises a model that is not there.
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files

import fxregistry
from fxregistry import Estimator

WEIGHTS = files(__package__) / "weights"
MANIFEST = "manifest.json"


@functools.cache  # package data: fixed while fxr runs, and the registry asks each lookup
def manifest() -> dict:
    """The manifest as written by the recipe; empty when no estimator was trained yet."""
    path = WEIGHTS / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {"estimators": []}


@fxregistry.hookimpl
def register_estimators(register):
    found = manifest()
    shared = {key: value for key, value in found.items() if key != "estimators"}
    for entry in found["estimators"]:
        path = WEIGHTS / entry["file"]
        if not path.is_file():
            continue
        register(
            Estimator(
                name=entry["name"],
                effect=entry["effect"],
                input=entry["input"],
                path=path,
                description=entry.get("description", ""),
                lossy=entry.get("lossy", False),
                manifest={**shared, **entry},
            )
        )
