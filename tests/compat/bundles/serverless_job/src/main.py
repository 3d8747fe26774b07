import os
import sys

print(f"hello from {os.path.basename(os.getcwd())} on Python {sys.version_info[0]}")
