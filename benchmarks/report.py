"""Where every benchmark puts its numbers: results/NAME.md (quoted in docs) and NAME.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def save(name: str, lines: list[str], data: Any) -> str:
    """Print the Markdown report and write it, with the raw numbers, under results/."""
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(report)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    return report
