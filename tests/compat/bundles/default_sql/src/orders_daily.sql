SELECT order_date, count(*) AS orders, sum(amount) AS revenue
FROM orders_raw GROUP BY order_date ORDER BY order_date;
