-- What dbt built, read by the next task.
SELECT name, orders, revenue FROM shop.customer_revenue ORDER BY revenue DESC;
