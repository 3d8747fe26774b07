"""Checks the silver tables: rows present, keys unique, every order's keys known."""

import sys

from common import warehouse

db = warehouse()
problems = []
for table, key in [("orders", "order_id"), ("customers", "customer_id"), ("products", "product_id")]:
    rows, keys = db.execute(f"SELECT COUNT(*), COUNT(DISTINCT {key}) FROM silver_{table}").fetchone()
    print(f"silver_{table}: {rows} rows, {keys} distinct {key}")
    if rows == 0:
        problems.append(f"silver_{table} is empty")
    if rows != keys:
        problems.append(f"silver_{table} has duplicate {key}s")
orphans = db.execute(
    """SELECT COUNT(*) FROM silver_orders o
       LEFT JOIN silver_customers c USING (customer_id)
       LEFT JOIN silver_products p USING (product_id)
       WHERE c.customer_id IS NULL OR p.product_id IS NULL"""
).fetchone()[0]
if orphans:
    problems.append(f"{orphans} orders reference unknown customers or products")
for problem in problems:
    print(f"validation failed: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
