"""The likely causes of /health's failing checks, found live (docs/commands.md, "/health")."""
