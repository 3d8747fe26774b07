import sys

from databricks.sdk.runtime import dbutils

print(len(dbutils.secrets.get(scope=sys.argv[1], key="token")))
