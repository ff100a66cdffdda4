"""The terminal face: typer commands, terminal tables, JSON output and exit codes for schedulers."""
