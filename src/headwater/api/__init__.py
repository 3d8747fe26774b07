"""The Jobs API 2.2 surface: the documents it answers with (`documents`, `outputs`).

The REST server that serves them comes with `headwater server`.
"""
