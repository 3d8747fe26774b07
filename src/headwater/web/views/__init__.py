"""What pages show, built from the service's records and the Jobs API documents: pure
functions, no web framework (tested without a server)."""
