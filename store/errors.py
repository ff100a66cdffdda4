"""What the store refuses, importable without SQLAlchemy (the acknowledgement path)."""

from __future__ import annotations


class ServiceBusy(Exception):
    """The service already has an unfinished rollout."""

    def __init__(self, service: str, rollout_id: int) -> None:
        super().__init__(f"{service} already has rollout #{rollout_id} in progress")
        self.service, self.rollout_id = service, rollout_id
