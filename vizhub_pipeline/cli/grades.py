"""CLI commands of the grades area (being built)."""

COMMANDS: list = []
