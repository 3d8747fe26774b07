import sys

print(f"handling {sys.argv[1]} data")
