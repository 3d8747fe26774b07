"""Writes the day's raw orders, customers and products as CSV: small, deterministic data that
stands in for the source systems. Usage: generate_raw_data.py LANDING_DIR"""

import csv
import random
import sys
from pathlib import Path

landing = Path(sys.argv[1])
landing.mkdir(parents=True, exist_ok=True)
rng = random.Random(42)

customers = [(i, f"customer_{i}", rng.choice(["NL", "DE", "FR", "US"])) for i in range(1, 51)]
products = [(i, f"product_{i}", round(rng.uniform(2, 200), 2)) for i in range(1, 21)]
orders = [(i, rng.randint(1, 50), rng.randint(1, 20), rng.randint(1, 5),
           f"2026-11-{rng.randint(1, 24):02d}") for i in range(1, 501)]
orders.append(orders[0])  # the source sends a duplicate: silver must drop it

tables = {
    "customers": (["customer_id", "name", "country"], customers),
    "products": (["product_id", "name", "price"], products),
    "orders": (["order_id", "customer_id", "product_id", "quantity", "order_date"], orders),
}
for name, (header, rows) in tables.items():
    with (landing / f"{name}.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {landing / name}.csv")
