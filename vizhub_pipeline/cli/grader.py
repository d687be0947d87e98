"""CLI commands of the grader area (being built)."""

COMMANDS: list = []
