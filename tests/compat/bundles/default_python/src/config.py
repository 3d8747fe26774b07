TABLE = "trips"
