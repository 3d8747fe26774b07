"""The README's walkthrough, run as written, so that the docs cannot drift from the product.

The convention (see "How the walkthrough is tested" at the end of README.md):

- a fenced block whose info string is `sh walkthrough` holds commands to run, as a user types
  them at the repository's root;
- an HTML comment right after the block says what must come of it, directives separated by
  `;`:

      <!-- expect: exit=0; contains: "ended SUCCESS"; absent: "report [attempt 0] RUNNING";
           capture: <run id> = "Run (\\d+) ended" -->

  `exit=N` (or `exit=nonzero`; default 0) is the block's exit code, `contains: "text"` and
  `absent: "text"` look at its output (stdout and stderr together, as on a terminal), and
  `capture: <placeholder> = "regex"` takes the regex's first group from the output: later
  blocks have every `<placeholder>` replaced by it (`<run id>` in the README), and
  `timeout=N` gives a block N seconds instead of 60 (one that builds a task's environment).

The blocks run in order, each with `bash`, in ONE working directory: a copy of the examples,
the Makefile and pyproject.toml, with `.venv` linking to the venv running the tests. The copy's
alert ports are moved to free ones, so that the test may run beside anything else. `make` is
the real one, run with `-o .venv/.installed` so that it never reinstalls the package from the
copy. Whatever a block leaves running in the background (the alert catcher) is stopped when
it ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
EXAMPLE = Path("examples/lf_job_etl_pipeline")
BUNDLE_INIT_EXAMPLE = Path("examples/my_project")  # the `databricks bundle init` layout
DBT_EXAMPLE = Path("examples/dbt_shop")
BLOCK = re.compile(r"^```sh walkthrough\n(?P<body>.*?)^```\n(?P<after>(?:[ \t]*\n)*"
                   r"<!--\s*expect:(?P<expect>.*?)-->)?", re.S | re.M)
QUOTED = r"""(?:"(?P<{0}>[^"]*)"|'(?P<{0}_>[^']*)')"""  # "text" or 'text with "quotes"'
DIRECTIVE = re.compile(r"\s*(?:(?P<exit>exit)\s*=\s*(?P<code>\d+|nonzero)"
                       r"|timeout\s*=\s*(?P<timeout>\d+)"
                       r"|(?P<kind>contains|absent)\s*:\s*" + QUOTED.format("text") +
                       r"|capture\s*:\s*(?P<name><[^>]+>)\s*=\s*" + QUOTED.format("regex") +
                       r")\s*(?:;|\Z)")
PLACEHOLDER = re.compile(r"<[a-z][a-z ]*>")
PREAMBLE = 'make() { command make -o .venv/.installed "$@"; }\n'
BLOCK_TIMEOUT = 60


@dataclass
class Block:
    line: int  # where it starts in README.md
    commands: str
    exit: str = "0"
    timeout: int = BLOCK_TIMEOUT
    contains: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    captures: dict[str, str] = field(default_factory=dict)


def parse_expect(text: str, line: int) -> dict[str, object]:
    found: dict[str, object] = {"contains": [], "absent": [], "captures": {}}
    rest = text
    while rest.strip():
        match = DIRECTIVE.match(rest)
        if match is None:
            raise AssertionError(f"README.md:{line}: cannot read the expect directive {rest!r}")
        if match["exit"]:
            found["exit"] = match["code"]
        elif match["timeout"]:
            found["timeout"] = int(match["timeout"])
        elif match["kind"]:
            text_ = match["text"] if match["text"] is not None else match["text_"]
            found[match["kind"]].append(text_)  # type: ignore[union-attr]
        else:
            regex = match["regex"] if match["regex"] is not None else match["regex_"]
            found["captures"][match["name"]] = regex  # type: ignore[index]
        rest = rest[match.end():]
    return found


def walkthrough_blocks(text: str) -> list[Block]:
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        block = Block(line, match["body"])
        if match["expect"] is not None:
            for key, value in parse_expect(match["expect"], line).items():
                setattr(block, key, value)
        blocks.append(block)
    return blocks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(workdir: Path) -> None:
    """The user's checkout, as far as the walkthrough touches it."""
    for example in (EXAMPLE, BUNDLE_INIT_EXAMPLE, DBT_EXAMPLE):
        shutil.copytree(REPO / example, workdir / example,
                        ignore=shutil.ignore_patterns("output", "__pycache__", ".headwater"))
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(REPO / name, workdir / name)
    (workdir / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    smtp, http = free_port(), free_port()
    for name, old_new in ((EXAMPLE / "headwater.yml", {"18025": smtp, "18026": http}),
                          (EXAMPLE / "alert_catcher.py", {"18025": smtp, "18026": http}),
                          (Path("Makefile"), {"18025": smtp, "18026": http})):
        path = workdir / name
        text = path.read_text()
        for old, new in old_new.items():
            assert old in text, f"{path.name} no longer uses port {old}: update this test"
            text = text.replace(old, str(new))
        path.write_text(text)


def environment() -> dict[str, str]:
    drop = ("HEADWATER_", "BUNDLE_VAR_", "MAKE", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_block(commands: str, workdir: Path, log: Path,
              timeout: int = BLOCK_TIMEOUT) -> tuple[int, str]:
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "-c", PREAMBLE + commands], cwd=workdir,
                                   env=environment(), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        finally:
            # the block's background processes (an alert catcher) go with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.kill()
    return code, log.read_text(errors="replace")


def substitute(commands: str, captured: dict[str, str], line: int) -> str:
    for name, value in captured.items():
        commands = commands.replace(name, value)
    left = PLACEHOLDER.findall(commands)
    assert not left, f"README.md:{line}: no earlier block captures {left}"
    return commands


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("bash") is None:
        pytest.skip("the walkthrough needs make and bash")
    blocks = walkthrough_blocks(README.read_text())
    assert len(blocks) >= 10, "README.md lost its `sh walkthrough` blocks"
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    prepare(workdir)
    captured: dict[str, str] = {}
    for number, block in enumerate(blocks, 1):
        commands = substitute(block.commands, captured, block.line)
        code, output = run_block(commands, workdir, tmp_path / f"block-{number}.log",
                                 block.timeout)
        where = (f"README.md:{block.line} (walkthrough block {number}):\n{commands}\n"
                 f"--- exit {code}, output:\n{output}")
        if block.exit == "nonzero":
            assert code != 0, f"expected a failure\n{where}"
        else:
            assert code == int(block.exit), f"expected exit {block.exit}\n{where}"
        for text in block.contains:
            assert text in output, f"expected {text!r} in the output\n{where}"
        for text in block.absent:
            assert text not in output, f"did not expect {text!r} in the output\n{where}"
        for name, regex in block.captures.items():
            match = re.search(regex, output)
            assert match, f"cannot capture {name} with {regex!r}\n{where}"
            captured[name] = match.group(1)


def test_the_readme_keeps_its_two_commands_first() -> None:
    head = README.read_text().splitlines()[:6]
    assert head[0] == "# headwater"
    assert head[2] == "```sh"
    assert head[3].startswith("make run") and head[4].startswith("make test")
    assert head[5] == "```"


def test_every_expect_comment_belongs_to_a_walkthrough_block() -> None:
    text = README.read_text()
    attached = sum(1 for m in BLOCK.finditer(text) if m["expect"] is not None)
    comments, fenced = 0, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("<!-- expect:"):
            comments += 1
    assert comments == attached, (
        "an `<!-- expect: ... -->` comment must follow a ```sh walkthrough block directly")


def test_the_parser_reads_every_directive() -> None:
    text = ('```sh walkthrough\nmake run\n```\n<!-- expect: exit=nonzero; contains: "a; b";\n'
            '  absent: "c"; capture: <run id> = "Run (\\d+) ended" -->\n')
    (block,) = walkthrough_blocks(text)
    assert (block.commands, block.exit, block.contains, block.absent, block.captures) == (
        "make run\n", "nonzero", ["a; b"], ["c"], {"<run id>": r"Run (\d+) ended"})
