"""CLI commands of the screenshot area (being built)."""

COMMANDS: list = []
