# Databricks notebook source
item = dbutils.widgets.get("item")
print(f"processing {item}")
