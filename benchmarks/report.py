"""Where every benchmark puts its numbers: results/NAME.md (quoted in docs) and NAME.json."""

from __future__ import annotations

import json
import re
import sys
import tempfile
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


def update_section(page: Path, name: str, text: str) -> None:
    """Put ``text`` between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` on ``page``.

    Several scripts write one page (docs/results.md): each owns its section
    and leaves the others, and the hand-written text around them, alone. A
    missing section is appended.
    """
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    old = page.read_text() if page.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old)
    else:
        new = old.rstrip() + "\n\n" + block
    page.write_text(new.strip() + "\n")  # one final newline, not one more per run


def log(line: str) -> None:
    """A progress line on stderr (stdout carries the report)."""
    print(line, file=sys.stderr, flush=True)


def workspace(path: Path | None, prefix: str) -> Path:
    """Where a benchmark keeps its datasets and runs: ``--work``, or a new temporary folder."""
    work = path or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    return work
