# Databricks notebook source
# MAGIC %md
# MAGIC # Validation
# MAGIC Row counts and key checks on silver. Publishes `passed`, `problems` and
# MAGIC `rows_processed` as task values for the quality gate and the report.

# COMMAND ----------

from headwater.runtime import dbutils, metrics, sql

problems = []
rows_processed = 0
for table, key in [("orders", "order_id"), ("customers", "customer_id"), ("products", "product_id")]:
    rows, keys = sql(f"SELECT count(*), count(DISTINCT {key}) FROM silver.{table}").rows[0]
    print(f"silver.{table}: {rows} rows, {keys} distinct {key}")
    rows_processed += rows
    if rows == 0:
        problems.append(f"silver.{table} is empty")
    if rows != keys:
        problems.append(f"silver.{table} has duplicate {key}s")

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT count(*) AS orphans
# MAGIC FROM silver.orders o
# MAGIC LEFT JOIN silver.customers c USING (customer_id)
# MAGIC LEFT JOIN silver.products p USING (product_id)
# MAGIC WHERE c.customer_id IS NULL OR p.product_id IS NULL

# COMMAND ----------

orphans = _sqldf.rows[0][0]  # noqa: F821 - the result of the %sql cell above
if orphans:
    problems.append(f"{orphans} orders reference unknown customers or products")

metrics.record("rows_processed", rows_processed)
dbutils.jobs.taskValues.set("rows_processed", rows_processed)
dbutils.jobs.taskValues.set("passed", not problems)
dbutils.jobs.taskValues.set("problems", "; ".join(problems) or "none")
print("validation passed" if not problems else f"validation failed: {problems}")
