# Databricks notebook source
dbutils.jobs.taskValues.set(key="answer", value=42)

# COMMAND ----------

print("set answer")
