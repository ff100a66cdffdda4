"""Errors an operation raises for the faces (CLI, Slack) to turn into a clear message."""


class RequestError(Exception):
    """The request is invalid; the message says what to do instead. Nothing was changed."""
