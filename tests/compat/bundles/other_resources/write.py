import sys

print(f"would write to {sys.argv[1]}")
