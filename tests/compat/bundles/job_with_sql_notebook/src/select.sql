-- Databricks notebook source
CREATE OR REPLACE TEMP VIEW numbers AS SELECT * FROM range(5) AS t(n);

-- COMMAND ----------

SELECT sum(n) AS total FROM numbers;
