print("typed")
