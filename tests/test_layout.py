"""The package's shape: small modules, imports that flow one way.

A newcomer reads the pipeline from the folders (registry -> specs -> audio
-> dataset -> training -> evaluation, estimation -> cli); these tests keep
it readable as it grows.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import fxregistry

PACKAGE = Path(fxregistry.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """fxregistry modules that ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_stays_short_or_says_why(path):
    lines = path.read_text().splitlines()
    if len(lines) > MAX_LINES:
        docstring = ast.get_docstring(ast.parse("\n".join(lines))) or ""
        assert "lines" in docstring, f"{path} has {len(lines)} lines and does not say why"


def test_no_module_imports_itself_back_through_others():
    names = {module_name(p): p for p in MODULES}
    graph = {name: imported_modules(path, set(names)) - {name} for name, path in names.items()}
    # A package's __init__ re-exporting its own modules is not a cycle of the pipeline.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, start]
                if nxt not in path and len(path) < len(graph):
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for c in map(cycle_from, sorted(graph)) if c]
    assert not cycles, "import cycle: " + " -> ".join(cycles[0])


def test_loading_every_plugin_and_reading_a_header_does_not_import_torch():
    # Every fxr command loads the plugins; torch's import alone takes 1.7 s. Only
    # the commands that compute (build, fit, evaluate, estimate) may pay it.
    code = (
        "import sys\n"
        "from fxregistry import registry\n"
        "from fxregistry.dataset import header\n"
        "for kind in registry.KINDS:\n"
        "    registry.registrations(kind)\n"
        "assert 'torch' not in sys.modules, 'loading the plugins imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_the_audio_maths_of_an_estimate_does_not_import_torch():
    # `fxr estimate` computes features and renders effects to refine and check its
    # answer; it must answer in well under torch's 1.9 s import.
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from fxregistry.audio.features import FeatureConfig, spectral_distance, spectrogram\n"
        "from fxr_plugins.sample_rate import render\n"
        "audio = np.random.default_rng(0).standard_normal(44100).astype(np.float32)\n"
        "for kind in ('mel', 'stft'):\n"
        "    spectrogram(audio, FeatureConfig(kind=kind))\n"
        "spectral_distance(render(audio, 44100.0, target_khz=8.0), audio)\n"
        "assert 'torch' not in sys.modules, 'the audio maths imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
