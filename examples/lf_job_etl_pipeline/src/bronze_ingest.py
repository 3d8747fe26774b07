"""Loads each raw table as-is into bronze: the Lab's loop over tables inside one task."""

import csv
import sys

from common import run_dir, warehouse

tables_to_process = sys.argv[1:]
db = warehouse()
for tbl in tables_to_process:
    print(f"Processing table {tbl}")
    with (run_dir() / "raw" / f"{tbl}.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = ", ".join(f'"{c}" TEXT' for c in header)
    db.execute(f'DROP TABLE IF EXISTS "bronze_{tbl}"')
    db.execute(f'CREATE TABLE "bronze_{tbl}" ({columns})')
    marks = ", ".join("?" for _ in header)
    db.executemany(f'INSERT INTO "bronze_{tbl}" VALUES ({marks})', body)
    print(f"  {len(body)} rows into bronze_{tbl}")
db.commit()
