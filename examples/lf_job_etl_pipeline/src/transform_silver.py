"""Cleans one bronze table into silver: types cast, duplicates and bad rows dropped."""

import sys

from common import warehouse

TRANSFORMS = {
    "orders": """SELECT DISTINCT CAST(order_id AS INTEGER) AS order_id,
                        CAST(customer_id AS INTEGER) AS customer_id,
                        CAST(product_id AS INTEGER) AS product_id,
                        CAST(quantity AS INTEGER) AS quantity, order_date
                 FROM bronze_orders WHERE CAST(quantity AS INTEGER) > 0""",
    "customers": """SELECT DISTINCT CAST(customer_id AS INTEGER) AS customer_id, name, country
                    FROM bronze_customers""",
    "products": """SELECT DISTINCT CAST(product_id AS INTEGER) AS product_id, name,
                          CAST(price AS REAL) AS price
                   FROM bronze_products""",
}

table = sys.argv[1]
db = warehouse()
db.execute(f"DROP TABLE IF EXISTS silver_{table}")
db.execute(f"CREATE TABLE silver_{table} AS {TRANSFORMS[table]}")
db.commit()
count = db.execute(f"SELECT COUNT(*) FROM silver_{table}").fetchone()[0]
print(f"silver_{table}: {count} rows")
