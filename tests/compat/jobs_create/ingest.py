import sys
print(f"ingested {sys.argv[2]}")
