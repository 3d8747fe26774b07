"""Read the cities file next to this module (tasks run in the folder of their file)."""

import csv


def read_cities(path: str = "cities.csv") -> list[dict[str, str]]:
    with open(path, newline="") as rows:
        return list(csv.DictReader(rows))
