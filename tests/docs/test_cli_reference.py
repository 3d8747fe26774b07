"""docs/cli.md is generated from the click commands; it must match what the generator makes now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import click

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "scripts" / "cli_reference.py"
REFERENCE = REPO / "docs" / "cli.md"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_md_is_up_to_date() -> None:
    expected = generator().render()
    committed = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert committed == expected, (
        "docs/cli.md is out of date with the commands of headwater.cli.main; regenerate it with\n"
        "    .venv/bin/python scripts/cli_reference.py --write\n"
        "and commit the result.")


def visible_paths(command: click.Command, prefix: str) -> list[str]:
    paths = [prefix]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            if not sub.hidden:
                paths += visible_paths(sub, f"{prefix} {name}")
    return paths


def test_every_visible_command_has_a_section_and_hidden_ones_none() -> None:
    from headwater.cli.main import main

    text = generator().render()
    for path in visible_paths(main, "headwater"):
        assert f"## `{path}`\n" in text, f"{path} is missing from the reference"
    assert "run-child" not in text  # `runs run-child` is hidden: the engine's, not people's


def test_the_reference_shows_usage_options_and_arguments() -> None:
    text = generator().render()
    section = text[text.index("## `headwater runs repair`"):]
    section = section[:section.index("\n## ", 1)]
    assert "Usage: headwater runs repair [OPTIONS] RUN_ID" in section
    assert "| `RUN_ID` | argument (required) |" in section
    assert "| `--all-failed` | Rerun every task that did not succeed. |" in section
    assert "(environment: HEADWATER_DB)" in section
