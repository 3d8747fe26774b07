print("never synced")
