# Databricks notebook source
print("sessionized")
