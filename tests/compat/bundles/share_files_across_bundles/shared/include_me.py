print("shared code ran")
