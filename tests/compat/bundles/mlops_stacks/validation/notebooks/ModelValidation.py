# Databricks notebook source
dbutils.widgets.text("model_version", "")
print(f"validated version {dbutils.widgets.get('model_version')}")
