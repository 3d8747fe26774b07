"""Secret redaction in a task's process (`headwater.runtime.redaction`), and the `dbutils` a
task's Python processes find without an import (`runtime/shims/sitecustomize.py`). What would
change the test process's own streams runs in a child interpreter."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.runners.environment import SHIMS
from headwater.runtime import redaction
from headwater.runtime.redaction import REDACTED, RedactingStream, redact, redact_all, remember


@pytest.fixture
def remembered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    values: list[str] = []
    monkeypatch.setattr(redaction, "_values", values)
    monkeypatch.setattr(redaction, "_redact_standard_streams", lambda: None)
    return values


def test_every_remembered_value_is_redacted_the_longest_first(remembered: list[str]) -> None:
    remember(b"abc")
    remember("abcdef")
    assert redact("xabcdefy abc ab") == f"x{REDACTED}y {REDACTED} ab"
    assert redact_all({"error": "abc", "lines": ["1 abcdef", 2], "n": 3}) == {
        "error": REDACTED, "lines": [f"1 {REDACTED}", 2], "n": 3}


def test_empty_and_binary_values_are_not_remembered(remembered: list[str]) -> None:
    remember(b"")
    remember(b"\xff\xfe not text")
    assert remembered == []
    assert redact("anything \ufffd") == "anything \ufffd"


def test_a_redacting_stream_writes_redacted_and_is_otherwise_the_stream(
        remembered: list[str]) -> None:
    remember("hunter2")
    target = io.StringIO()
    stream = RedactingStream(target)  # type: ignore[arg-type]
    assert stream.write("pw=hunter2\n") == len("pw=hunter2\n")
    stream.writelines(["a hunter2", " b\n"])
    assert target.getvalue() == f"pw={REDACTED}\na {REDACTED} b\n"
    assert stream.getvalue() == target.getvalue()  # anything else is the stream's own


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, env={**os.environ, **env}, check=False)


def test_the_first_secret_redacts_stdout_stderr_and_earlier_log_handlers(tmp_path: Path) -> None:
    result = _python(
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "print('before: hunter2', flush=True)\n"
        "from headwater.runtime.redaction import remember\n"
        "remember(b'hunter2')\n"
        "print('printed hunter2')\n"
        "logging.getLogger('x').info('logged %s', 'hunter2')\n"
        "sys.stderr.write('written hunter2\\n')\n"
        "raise ValueError('raised hunter2')\n", tmp_path)
    assert result.stdout == f"before: hunter2\nprinted {REDACTED}\n"
    assert f"INFO:x:logged {REDACTED}\n" in result.stderr
    assert f"written {REDACTED}\n" in result.stderr
    assert f"ValueError: raised {REDACTED}" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_task_process_has_dbutils_as_a_builtin_imported_on_first_use(tmp_path: Path) -> None:
    result = _python(
        "import sys\n"
        "print('headwater.runtime' in sys.modules)\n"
        "dbutils.widgets.text('table', 'orders')\n"
        "print(dbutils.widgets.get('table'))\n"
        "print('headwater.runtime' in sys.modules, type(dbutils).__name__)\n",
        tmp_path, PYTHONPATH=str(SHIMS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False", "orders", "True DBUtils"]


def test_the_sitecustomize_it_hides_still_runs(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text("import builtins\nbuiltins.HIDDEN_RAN = True\n")
    path = os.pathsep.join([str(SHIMS), str(hidden)])
    ran = _python("print(HIDDEN_RAN, callable(getattr(dbutils, 'widgets').get))", tmp_path,
                  PYTHONPATH=path)
    assert ran.stdout == "True True\n", ran.stderr
    # And one that fails is reported as Python reports it, and the process goes on
    (hidden / "sitecustomize.py").write_text("raise OSError('no config here')\n")
    failed = _python("print(type(dbutils).__name__)", tmp_path, PYTHONPATH=path)
    assert failed.stdout == "_Dbutils\n"
    assert "Error in sitecustomize; set PYTHONVERBOSE for traceback:\nOSError: no config here" \
        in failed.stderr


def test_the_shim_imports_nothing_but_the_import_system(tmp_path: Path) -> None:
    # It runs before every task's code: `typing` or `re` here cost more than Python's start.
    code = "import sys; print(' '.join(sorted(sys.modules)))"
    plain = set(_python(code, tmp_path).stdout.split())
    shimmed = set(_python(code, tmp_path, PYTHONPATH=str(SHIMS)).stdout.split())
    assert shimmed - plain <= {"sitecustomize", "__future__", "warnings", "importlib",
                               "importlib._bootstrap", "importlib._bootstrap_external",
                               "importlib.machinery"}
    assert "sitecustomize" in shimmed
