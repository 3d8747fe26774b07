# Databricks notebook source
print("nightly")
