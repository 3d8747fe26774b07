# Databricks notebook source
print("new files")
