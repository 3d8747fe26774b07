# Databricks notebook source
dbutils.widgets.text("model_name", "")
dbutils.jobs.taskValues.set("model_version", "1")
print(f"trained {dbutils.widgets.get('model_name')}")
