import argparse

from cities import read_cities
from databricks.sdk.runtime import dbutils

parser = argparse.ArgumentParser()
parser.add_argument("--catalog")
parser.add_argument("--schema")
args = parser.parse_args()

cities = read_cities()
dbutils.jobs.taskValues.set(key="cities", value=len(cities))
print(f"loaded {len(cities)} cities for {args.catalog}.{args.schema}")
