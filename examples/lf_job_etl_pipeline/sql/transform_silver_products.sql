-- Products into silver: typed and de-duplicated.
CREATE SCHEMA IF NOT EXISTS silver;
CREATE OR REPLACE TABLE silver.products AS
SELECT DISTINCT CAST(product_id AS INTEGER) AS product_id, name, CAST(price AS DOUBLE) AS price
FROM bronze.products;
SELECT count(*) AS silver_products FROM silver.products;
