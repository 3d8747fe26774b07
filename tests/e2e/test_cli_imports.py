"""Each command imports what it uses and no more (a command's start is mostly its imports):
`headwater --help` loads no job models, store or server, `headwater run` no other command's
module and nothing of the server, web UI, Dask or notebook stacks; and a command's exit skips
the interpreter's collections of what it imported. Speed itself is measured by `make bench`
only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from headwater.cli.main import COMMANDS, main
from tests.child_env import child_env

# What a command that needs none of them must not import: the job models and the store
# (pydantic, SQLAlchemy), the server and web UI, Dask, notebooks, DuckDB, Alembic, Rich.
HEAVY = ("pydantic", "sqlalchemy", "yaml", "alembic", "starlette", "uvicorn", "jinja2",
         "dask", "distributed", "nbclient", "nbformat", "duckdb", "rich", "httpx")
# What `headwater run` of a local job has no use for.
NOT_FOR_RUN = ("alembic", "starlette", "uvicorn", "jinja2", "dask", "distributed", "nbclient",
               "nbformat", "duckdb", "httpx", "smtplib", "urllib.request", "psycopg",
               "sqlalchemy.dialects.postgresql", "headwater.api.app", "headwater.web",
               "headwater.executors.dask", "headwater.design")
COMMAND_MODULES = sorted({where.partition(":")[0] for where, _ in COMMANDS.values()})


def imported_by(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `headwater ARGS` in a new interpreter; what it did, and the modules it imported."""
    done, found = _at_exit(args, cwd)
    return done, set(found["modules"])


def _at_exit(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str],
                                                  dict[str, Any]]:
    """Run `headwater ARGS` in a new interpreter; what it did, and at its very end (after
    every exit handler it registered) its modules and how many objects are frozen."""
    listing = cwd / "at_exit.json"
    code = ("import atexit, gc, json, sys\n"
            f"atexit.register(lambda: open({str(listing)!r}, 'w').write(json.dumps("
            "{'modules': sorted(sys.modules), 'frozen': gc.get_freeze_count()})))\n"
            "from headwater.cli.main import main\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, env=child_env("DATABRICKS_"), timeout=120)
    found: dict[str, Any] = json.loads(listing.read_text())
    return done, found


def among(modules: set[str], names: tuple[str, ...] | list[str]) -> list[str]:
    """The modules that are one of `names` or inside one of them."""
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


def test_help_imports_no_command_and_nothing_heavy(tmp_path: Path) -> None:
    done, modules = imported_by(["--help"], tmp_path)

    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout and "server" in done.stdout
    assert among(modules, HEAVY) == []
    assert among(modules, COMMAND_MODULES) == []
    assert among(modules, ["headwater.core", "headwater.store", "headwater.engine",
                           "headwater.service", "headwater.config"]) == []


def test_run_imports_neither_other_commands_nor_the_server_stack(tmp_path: Path) -> None:
    (tmp_path / "noop.py").write_text("pass\n")
    (tmp_path / "one.yml").write_text(
        "resources:\n  jobs:\n    one:\n      name: one\n      tasks:\n        - task_key: t\n"
        "          spark_python_task: {python_file: noop.py}\n")

    imported_by(["run", "one.yml"], tmp_path)  # creates the state store (with Alembic)

    done, modules = imported_by(["run", "one.yml"], tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^Run \d+ ended SUCCESS", done.stdout, re.MULTILINE)
    assert {"headwater.engine.supervisor", "headwater.store.sql"} <= modules  # it ran here
    assert among(modules, NOT_FOR_RUN) == []
    assert among(modules, COMMAND_MODULES) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_lists_each_lazy_command_with_its_own_help(name: str) -> None:
    ctx = click.Context(main)
    command = main.get_command(ctx, name)
    stand_in = click.Command(name, help=COMMANDS[name][1])

    assert command is not None and command.name == name
    assert stand_in.get_short_help_str(1000) == command.get_short_help_str(1000)


def test_every_command_is_listed_once() -> None:
    ctx = click.Context(main)

    assert main.list_commands(ctx) == sorted({"run", "validate", *COMMANDS})


def test_a_commands_exit_leaves_what_it_imported_out_of_the_last_collections(
        tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text("resources:\n  jobs:\n    j:\n      tasks:\n"
                                      "        - {task_key: t, notebook_task: {notebook_path: n}}\n")
    (tmp_path / "n.py").write_text("# Databricks notebook source\n")

    done, found = _at_exit(["validate", "job.yml"], tmp_path)

    assert done.returncode == 0, done.stderr
    assert found["frozen"] > 10_000  # pydantic's and the job models' objects among them
