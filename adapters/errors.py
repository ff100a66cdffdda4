"""The one error type every adapter raises: the platform could not answer, and why."""


class AdapterError(Exception):
    """A platform read failed; the message names the resource and says what to do."""
