"""`dbutils.fs` in real task processes: one task writes a file into a volume, as Databricks'
write_from_job_to_volume example does, and the next lists it and reads it back; the file is in
the DBFS folder of headwater's home."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cli
from .test_run import run_id_of

WRITE = """\
# Databricks notebook source
file_path = dbutils.widgets.get("file_path")
dbutils.fs.put(file_path, "Hello World!", overwrite=True)
"""
READ = """\
# Databricks notebook source
folder = dbutils.widgets.get("file_path").rsplit("/", 1)[0]
print([(f.name, f.size) for f in dbutils.fs.ls(folder)], dbutils.fs.head(folder + "/hello.txt"))
"""
BUNDLE = """\
bundle: {name: volume_example}
resources:
  volumes:
    landing: {catalog_name: main, schema_name: raw, name: landing}
  jobs:
    hello:
      name: hello
      parameters:
        - name: file_path
          default: /Volumes/main/raw/${resources.volumes.landing.name}/hello.txt
      tasks:
        - task_key: write
          notebook_task: {notebook_path: ./write.py}
        - task_key: read
          depends_on: [{task_key: write}]
          notebook_task: {notebook_path: ./read.py}
"""


def test_a_task_writes_to_a_volume_and_the_next_reads_it(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "write.py").write_text(WRITE)
    (tmp_path / "read.py").write_text(READ)
    (tmp_path / "databricks.yml").write_text(BUNDLE)

    result = hw("run", "databricks.yml")

    assert result.returncode == 0, result.stdout + result.stderr
    run = run_id_of(result.stdout)
    log = hw("runs", "logs", str(run), "read", check=True).stdout
    assert "[('hello.txt', 12)] Hello World!" in log
    written = tmp_path / ".headwater" / "dbfs" / "Volumes" / "main" / "raw" / "landing"
    assert (written / "hello.txt").read_text() == "Hello World!"
