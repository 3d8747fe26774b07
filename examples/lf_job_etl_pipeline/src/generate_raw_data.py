"""Writes raw orders, customers and products as CSV: small, deterministic, realistic enough."""

import csv
import random

from common import run_dir

rng = random.Random(42)
raw = run_dir() / "raw"
raw.mkdir(exist_ok=True)

customers = [(i, f"customer_{i}", rng.choice(["NL", "DE", "FR", "US"])) for i in range(1, 51)]
products = [(i, f"product_{i}", round(rng.uniform(2, 200), 2)) for i in range(1, 21)]
orders = [
    (i, rng.randint(1, 50), rng.randint(1, 20), rng.randint(1, 5), f"2026-11-{rng.randint(1, 24):02d}")
    for i in range(1, 501)
]

for name, header, rows in [
    ("customers", ["customer_id", "name", "country"], customers),
    ("products", ["product_id", "name", "price"], products),
    ("orders", ["order_id", "customer_id", "product_id", "quantity", "order_date"], orders),
]:
    with (raw / f"{name}.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {raw / name}.csv")
