# Databricks notebook source
# MAGIC %md
# MAGIC # Report
# MAGIC Revenue by country and top products (the gold figures), written as an HTML page.

# COMMAND ----------

import html
import os
from pathlib import Path

from headwater.runtime import dbutils, sql

by_country = sql("""
    SELECT c.country, round(sum(o.quantity * p.price), 2) AS revenue, count(*) AS orders
    FROM silver.orders o JOIN silver.customers c USING (customer_id)
    JOIN silver.products p USING (product_id)
    GROUP BY c.country ORDER BY revenue DESC""")
top_products = sql("""
    SELECT p.name, sum(o.quantity) AS units, round(sum(o.quantity * p.price), 2) AS revenue
    FROM silver.orders o JOIN silver.products p USING (product_id)
    GROUP BY p.name ORDER BY revenue DESC LIMIT 5""")

# COMMAND ----------


def table(result):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in result.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in result.rows)
    return f"<table><tr>{head}</tr>{body}</table>"


rows = dbutils.jobs.taskValues.get("validation", "rows_processed", default=0)
page = f"""<!doctype html><meta charset="utf-8"><title>lf_job_etl_pipeline report</title>
<style>body{{font-family:sans-serif}} td,th{{padding:4px 12px;text-align:left}}</style>
<h1>lf_job_etl_pipeline: revenue report ({dbutils.widgets.get("env")})</h1>
<p>{rows} silver rows validated.</p>
<h2>Revenue by country</h2>{table(by_country)}
<h2>Top products</h2>{table(top_products)}"""
# The notebook runs in its own folder, notebooks/.
path = Path("..") / "output" / "reports" / f"report-run-{os.environ['HEADWATER_RUN_ID']}.html"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(page)
print(f"report written to {path.resolve()}")
dbutils.notebook.exit(str(path.resolve()))
