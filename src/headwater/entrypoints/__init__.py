"""What an attempt's process runs: `python -m headwater.entrypoints.<kind>`.

These modules run inside the task's process, so they import the standard library,
`headwater.runtime` and each other, never the engine, the store or the job models: a task
must start fast.
"""
