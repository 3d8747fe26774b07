# Databricks notebook source
print("leaf job ran")
