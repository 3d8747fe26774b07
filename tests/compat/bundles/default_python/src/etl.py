import argparse
import json

from config import TABLE

parser = argparse.ArgumentParser()
parser.add_argument("--catalog")
parser.add_argument("--schema")
args = parser.parse_args()
with open("trips.json") as rows:
    trips = json.load(rows)
print(f"{args.catalog}.{args.schema}.{TABLE}: {len(trips)} trips")
