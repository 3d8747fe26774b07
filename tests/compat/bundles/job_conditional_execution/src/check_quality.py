from databricks.sdk.runtime import dbutils

dbutils.jobs.taskValues.set(key="bad_records", value=7)
