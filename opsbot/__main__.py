"""`python -m opsbot`: the same entry point as the `opsbot` command."""

from cli.main import main

main()
