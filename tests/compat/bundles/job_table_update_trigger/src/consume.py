# Databricks notebook source
print("consumed")
