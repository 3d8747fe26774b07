# Databricks notebook source
print("defined in Python")
