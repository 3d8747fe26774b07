"""headwater as a client of a `headwater server`: the CLI's commands, over the Jobs API.

`RemoteService` answers the same calls as `headwater.service.Service` for the commands that
have a `--host`, through the REST API, so that a command reads the same against the local
state store and against a server.
"""
