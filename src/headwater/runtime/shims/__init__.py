"""Modules a task's process finds on its `PYTHONPATH` in place of Databricks' own.

Only `dbruntime` lives here: see its docstring. The folder (not this package) is what the
runners put on the path, so the modules import under their Databricks names.
"""
