-- Orders into silver: typed, de-duplicated, only real quantities.
CREATE SCHEMA IF NOT EXISTS silver;
CREATE OR REPLACE TABLE silver.orders AS
SELECT DISTINCT
    CAST(order_id AS INTEGER)    AS order_id,
    CAST(customer_id AS INTEGER) AS customer_id,
    CAST(product_id AS INTEGER)  AS product_id,
    CAST(quantity AS INTEGER)    AS quantity,
    CAST(order_date AS DATE)     AS order_date
FROM bronze.orders
WHERE CAST(quantity AS INTEGER) > 0;
SELECT count(*) AS silver_orders FROM silver.orders;
