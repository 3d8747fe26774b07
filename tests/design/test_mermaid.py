"""The Mermaid block of `headwater describe` parses with the real mermaid parser.

How the test gets mermaid: it runs `mermaid_parse.mjs` (beside this file) under Node, with
mermaid 11 and jsdom from the `node_modules` folder that `HEADWATER_NODE_MODULES` names; the
test links that folder next to a copy of the script. CI installs them with
`npm install --prefix "$dir" mermaid@11.17.2 jsdom@29.1.1` (Debian: `nodejs npm`) and exports
`HEADWATER_NODE_MODULES="$dir/node_modules"`. Without them the test skips, except under CI
(`CI` set), where it fails. node_modules is never committed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from headwater.core.load import load_file
from headwater.core.spec import JobSettings
from headwater.design.describe import describe_job
from headwater.design.markdown import mermaid
from tests.design.conftest import FIXTURES, Invoke

SCRIPT = Path(__file__).parent / "mermaid_parse.mjs"


@pytest.fixture(scope="module")
def parser_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    modules = os.environ.get("HEADWATER_NODE_MODULES", "")
    ready = bool(modules) and (Path(modules) / "mermaid").is_dir() and shutil.which("node")
    if not ready:
        message = ("MERMAID PARSER MISSING: set HEADWATER_NODE_MODULES to a node_modules with "
                   "mermaid and jsdom (npm install mermaid jsdom) and install node")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("mermaid")
    (work / "node_modules").symlink_to(Path(modules).resolve(), target_is_directory=True)
    shutil.copy(SCRIPT, work / SCRIPT.name)
    return work


def parse(work: Path, text: str) -> dict[str, object]:
    diagram = work / "diagram.mmd"
    diagram.write_text(text)
    done = subprocess.run(["node", str(work / SCRIPT.name), str(diagram)], capture_output=True,
                          text=True, timeout=120, cwd=work)
    assert done.stdout, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_markdown_mermaid_block_parses(
        parser_dir: Path, job_file: Callable[[str], Path], run_describe: Invoke) -> None:
    markdown = run_describe(job_file("designed_job.yml")).output
    block = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]

    assert parse(parser_dir, block) == {"ok": True, "type": "flowchart-v2"}


def test_the_parser_rejects_a_broken_diagram(parser_dir: Path) -> None:
    # The check can fail: `end` is a keyword, not a node
    result = parse(parser_dir, "flowchart LR\n    a --> end\n")
    assert result["ok"] is False


def test_awkward_task_keys_still_parse(parser_dir: Path) -> None:
    # Given keys that are Mermaid keywords or start with o/x, and every run_if
    keys = ["end", "graph", "o_load", "x-ray", "subgraph", "click"]
    tasks = [{"task_key": keys[0], "shell_command_task": {"command": "true"}}]
    tasks += [{"task_key": key, "depends_on": [{"task_key": keys[i]}],
               "run_if": run_if, "shell_command_task": {"command": "true"}}
              for i, (key, run_if) in enumerate(zip(keys[1:], [
                  "ALL_DONE", "AT_LEAST_ONE_FAILED", "NONE_FAILED", "ALL_FAILED",
                  "AT_LEAST_ONE_SUCCESS"], strict=True))]
    settings = JobSettings.model_validate({"tasks": tasks})

    assert parse(parser_dir, mermaid(describe_job(settings, "awkward").graph))["ok"] is True


def test_the_flagship_example_parses(parser_dir: Path) -> None:
    example = FIXTURES.parents[2] / "examples" / "lf_job_etl_pipeline" / "databricks.yml"
    job = load_file(example)[0]

    assert parse(parser_dir, mermaid(describe_job(job.settings, job.resource_name).graph)) == {
        "ok": True, "type": "flowchart-v2"}
