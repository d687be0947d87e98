"""CLI commands of the generate area (being built)."""

COMMANDS: list = []
