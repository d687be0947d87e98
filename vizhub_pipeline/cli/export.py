"""CLI commands of the export area (being built)."""

COMMANDS: list = []
