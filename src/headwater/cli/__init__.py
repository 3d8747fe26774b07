"""The `headwater` command line: one module per command group, all calling the service.

`main` is the click group (`headwater.cli.main:main`); commands that load heavy modules
import them when they run, so `headwater --help` stays fast.
"""
