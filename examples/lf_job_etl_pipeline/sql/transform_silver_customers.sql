-- Customers into silver: typed and de-duplicated.
CREATE SCHEMA IF NOT EXISTS silver;
CREATE OR REPLACE TABLE silver.customers AS
SELECT DISTINCT CAST(customer_id AS INTEGER) AS customer_id, name, country
FROM bronze.customers;
SELECT count(*) AS silver_customers FROM silver.customers;
