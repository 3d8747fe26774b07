-- The raw orders, as an ingestion step would land them (a SQL task runs in the bundle's folder).
CREATE SCHEMA IF NOT EXISTS raw;
CREATE OR REPLACE TABLE raw.orders AS SELECT * FROM read_csv_auto('src/orders.csv');
SELECT count(*) AS orders_loaded FROM raw.orders;
