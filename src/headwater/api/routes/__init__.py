"""The API's routes by concern: jobs, runs, permissions, and the workspace endpoints the SDK
calls on its own (its probe, the current user)."""
