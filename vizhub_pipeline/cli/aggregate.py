"""CLI commands of the aggregate area (being built)."""

COMMANDS: list = []
