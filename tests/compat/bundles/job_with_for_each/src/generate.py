# Databricks notebook source
dbutils.jobs.taskValues.set(key="items", value=["a", "b", "c"])
