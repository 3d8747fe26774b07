# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze ingest
# MAGIC Loads each landing file as-is into the `bronze` schema. One task loops over the tables:
# MAGIC the Lab's iterative pattern inside a task.

# COMMAND ----------

from headwater.runtime import dbutils, metrics, sql

landing_dir = dbutils.widgets.get("landing_dir")
simulate_failure = dbutils.widgets.get("simulate_failure") == "true"

# COMMAND ----------

# The Lab's controlled failure (Part B.2), switched on by a job parameter instead of an edit:
#   headwater run ... --param simulate_failure=true
if simulate_failure:
    raise Exception("Simulating ingestion failure for retry demo")

# COMMAND ----------

tables_to_process = ["orders", "customers", "products"]

sql("CREATE SCHEMA IF NOT EXISTS bronze")
total = 0
for tbl in tables_to_process:
    print(f"Processing table {tbl}")
    path = f"{landing_dir}/{tbl}.csv"
    sql(f"CREATE OR REPLACE TABLE bronze.{tbl} AS SELECT * FROM read_csv(:path, all_varchar = true)",
        path=path)
    count = sql(f"SELECT count(*) FROM bronze.{tbl}").rows[0][0]
    print(f"  {count} rows into bronze.{tbl}")
    total += count

metrics.record("rows_processed", total)
dbutils.jobs.taskValues.set("bronze_rows", total)
