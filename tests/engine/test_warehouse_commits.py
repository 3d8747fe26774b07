"""`WarehouseCommits`: the commit logs of every warehouse read as one, each incrementally."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from headwater.engine.observers import WarehouseCommits


def commit(log: Path, table: str, at: float) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as file:
        file.write(json.dumps({"table": table, "at": at}) + "\n")


def test_a_table_s_version_counts_its_commits_in_every_warehouse(tmp_path: Path) -> None:
    embedded = tmp_path / "warehouse.duckdb.commits.jsonl"
    postgres = tmp_path / "warehouses" / "pg.commits.jsonl"  # not written yet: no commits
    commits = WarehouseCommits([embedded, postgres, embedded])  # a log named twice counts once
    commit(embedded, "bronze.orders", 10)
    assert commits.versions() == {"bronze.orders": 1}

    commit(postgres, "analytics.bronze.orders", 30)  # a catalog part is not the table's
    commit(postgres, "silver.orders", 20)
    commit(embedded, "bronze.orders", 5)

    assert commits.versions() == {"bronze.orders": 3, "silver.orders": 1}
    assert commits.times["bronze.orders"] == datetime.fromtimestamp(30, UTC)  # the latest
    assert commits.versions() == {"bronze.orders": 3, "silver.orders": 1}  # read once each
