# Databricks notebook source
cities = dbutils.jobs.taskValues.get(taskKey="load_cities", key="cities", debugValue=0)
print(f"report: {cities} cities loaded")
