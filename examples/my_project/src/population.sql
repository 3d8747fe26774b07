-- Runs on the embedded warehouse (DuckDB) here, on the SQL warehouse on Databricks.
CREATE OR REPLACE TABLE cities AS SELECT * FROM read_csv_auto('src/cities.csv');
SELECT country, sum(population) AS population FROM cities GROUP BY country ORDER BY country;
