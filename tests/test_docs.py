"""docs/cli.md cannot drift from the command line: its `--help` blocks are generated."""

from __future__ import annotations

import pytest

from fxregistry.cli import docs
from fxregistry.cli.main import cli


def test_docs_cli_md_is_what_the_generator_makes_now():
    page = docs.DOCS.read_text(encoding="utf-8")
    assert docs.render(page) == page, (
        "docs/cli.md differs from `fxr --help`: run `python -m fxregistry.cli.docs` "
        "and commit docs/cli.md"
    )


def test_every_command_has_a_help_block_in_the_docs():
    page = docs.DOCS.read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"<!-- BEGIN GENERATED: fxr {name} --help -->" in page, name
        assert f"Usage: fxr {name} [OPTIONS]" in page, name


def test_a_page_without_a_commands_block_is_refused():
    page = docs.DOCS.read_text(encoding="utf-8")
    without_build = page.replace("<!-- BEGIN GENERATED: fxr build --help -->", "")
    with pytest.raises(ValueError, match="lacks a block for fxr build"):
        docs.render(without_build)
    unknown = page + "\n<!-- BEGIN GENERATED: fxr nope --help -->\n<!-- END GENERATED -->\n"
    with pytest.raises(ValueError, match="fxr nope"):
        docs.render(unknown)


def test_the_generator_rewrites_a_stale_block_and_check_says_so(tmp_path, capsys):
    stale = tmp_path / "cli.md"
    page = docs.DOCS.read_text(encoding="utf-8")
    stale.write_text(page.replace("Machine-readable output on stdout.", "stale"))
    assert docs.main(["--check", str(stale)]) == 1
    assert "run python -m fxregistry.cli.docs" in capsys.readouterr().err
    assert docs.main([str(stale)]) == 0
    assert stale.read_text() == page
    assert docs.main(["--check", str(stale)]) == 0
