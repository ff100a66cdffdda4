"""Simulated request traffic of the sandbox's services, honouring Cloud Run's traffic splits.

Each service receives a steady request rate. Each revision answers with the error rate and
latency of the commit it was built from: a fault plan names the bad commits (the demo's bad
canary); every other commit behaves normally. Counts are deterministic: the same interval and
the same split history always give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sandbox.cloudrun_state import CloudRunState


@dataclass(frozen=True)
class Behaviour:
    """How a revision answers: its share of 5xx and 4xx, and its latency percentiles (ms)."""

    error_5xx: float = 0.002
    error_4xx: float = 0.01
    p50_ms: float = 70.0
    p95_ms: float = 160.0
    p99_ms: float = 240.0
    error_log: str = ""  # the ERROR line its failures log, if it fails


HEALTHY = Behaviour()


@dataclass(frozen=True)
class Requests:
    """Requests a revision answered in an interval, by response code class."""

    ok: int = 0  # 2xx
    client_errors: int = 0  # 4xx
    server_errors: int = 0  # 5xx

    @property
    def total(self) -> int:
        return self.ok + self.client_errors + self.server_errors


class TrafficModel:
    def __init__(
        self,
        cloud_run: CloudRunState,
        rates: dict[str, float],
        behaviour_of: Callable[[str | None], Behaviour],
    ) -> None:
        """`rates`: requests per second by service id; `behaviour_of`: by commit-sha label."""
        self.cloud_run = cloud_run
        self.rates = rates
        self.behaviour_of = behaviour_of

    def revision_seconds(
        self, service_name: str, revision: str, start: datetime, end: datetime
    ) -> float:
        """Seconds of full traffic the revision received in [start, end), from the split history."""
        history = self.cloud_run.split_history(service_name)
        served = 0.0
        for index, (since, split) in enumerate(history):
            until = history[index + 1][0] if index + 1 < len(history) else end
            overlap = (min(until, end) - max(since, start)).total_seconds()
            if overlap > 0:
                served += overlap * split.get(revision, 0) / 100
        return served

    def served_spans(
        self, service_name: str, revision: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The parts of [start, end) in which the revision had a share of the traffic."""
        history = self.cloud_run.split_history(service_name)
        spans: list[tuple[datetime, datetime]] = []
        for index, (since, split) in enumerate(history):
            until = history[index + 1][0] if index + 1 < len(history) else end
            begin, finish = max(since, start), min(until, end)
            if finish > begin and split.get(revision, 0) > 0:
                if spans and spans[-1][1] == begin:  # the same stretch, another share
                    begin = spans.pop()[0]
                spans.append((begin, finish))
        return spans

    def behaviour(self, service_name: str, revision: str) -> Behaviour:
        found = self.cloud_run.revisions.get(f"{service_name}/revisions/{revision}")
        labels = found.get("labels", {}) if found else {}
        return self.behaviour_of(labels.get("commit-sha"))

    def requests(
        self, service_name: str, revision: str, start: datetime, end: datetime
    ) -> Requests:
        service_id = service_name.rsplit("/", 1)[-1]
        total = round(
            self.rates.get(service_id, 0.0)
            * self.revision_seconds(service_name, revision, start, end)
        )
        behaviour = self.behaviour(service_name, revision)
        server = round(total * behaviour.error_5xx)
        client = round(total * behaviour.error_4xx)
        return Requests(ok=total - server - client, client_errors=client, server_errors=server)
