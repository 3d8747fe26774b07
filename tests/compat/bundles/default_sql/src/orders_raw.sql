-- Raw orders
CREATE OR REPLACE TABLE orders_raw AS
SELECT * FROM (VALUES (1, DATE '2024-01-01', 10.0), (2, DATE '2024-01-01', 5.5),
                      (3, DATE '2024-01-02', 7.25)) AS t(order_id, order_date, amount);
