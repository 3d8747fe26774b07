"""Writes the gold figures (revenue per country and per product) as an HTML report."""

import html

from common import run_dir, warehouse

db = warehouse()
by_country = db.execute(
    """SELECT c.country, ROUND(SUM(o.quantity * p.price), 2) AS revenue, COUNT(*) AS orders
       FROM silver_orders o JOIN silver_customers c USING (customer_id)
       JOIN silver_products p USING (product_id) GROUP BY c.country ORDER BY revenue DESC"""
).fetchall()


def table(rows, header):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


page = f"""<!doctype html><meta charset="utf-8"><title>lf_job_etl_pipeline report</title>
<h1>Revenue by country</h1>{table(by_country, ["country", "revenue", "orders"])}"""
path = (run_dir() / "report.html").resolve()
path.write_text(page)
print(f"report written to {path}")
