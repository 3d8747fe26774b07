# Databricks notebook source
dbutils.widgets.text("answer", "")
# COMMAND ----------
answer = dbutils.jobs.taskValues.get(taskKey="producer", key="answer", debugValue=0)
assert answer == 42 and dbutils.widgets.get("answer") == "42", answer
print(f"consumer got {answer}")
