"""The engine: claims runs by lease and drives each with `core.machine.decide`.

Only the engine performs what a decision commands: it launches attempts through the runners
and the executor, keeps the timers, and applies what executors, timers and requests report.
"""
