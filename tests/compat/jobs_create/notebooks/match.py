# Databricks notebook source
dbutils.widgets.text("name", "")
print(f"matched for {dbutils.widgets.get('name')}")
