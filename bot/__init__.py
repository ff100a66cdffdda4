"""The faces of opsbot: the command line now, the Slack app later."""
