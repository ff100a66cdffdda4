"""What the cause finder reads from the platform, each read once per report.

Several failing checks share writers (and a Details click re-reads none of another report's):
Cloud Run's revisions and traffic of a service, and commits resolved through git, are read
once and kept for the report. A source that cannot answer is a gap, said beside the causes,
never a crash and never a cause.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from adapters.cloudrun_model import Revision, ServiceState
from adapters.errors import AdapterError
from adapters.git import CommitInfo, GitRepo
from checks.drift_model import DriftSources

log = logging.getLogger("opsbot.health_causes")
T = TypeVar("T")
REVISIONS_READ = 20  # a service's newest revisions: weeks of deploys


@dataclass
class Reads:
    """The report's reads of Cloud Run and git (opened on first use), and the gaps."""

    open_sources: Callable[[], DriftSources] | None
    gaps: list[str] = field(default_factory=list)
    _kept: dict[tuple[str, str], object] = field(default_factory=dict)
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sources: DriftSources | None = None

    def _once(self, key: tuple[str, str], what: str, reading: Callable[[], T]) -> T | None:
        """`reading()` the first time `key` is asked for (others asking meanwhile wait for it)."""
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            if key in self._kept:
                return self._kept[key]  # type: ignore[return-value]
            try:
                value: T | None = reading()
            except AdapterError as exc:
                log.warning("health causes: %s unavailable: %s", what, exc)
                with self._lock:
                    self.gaps.append(f"{what}: unavailable ({exc})")
                value = None
            self._kept[key] = value
            return value

    def sources(self) -> DriftSources | None:
        """Cloud Run and the repo, or None when this platform has none (a warehouse-only run)."""
        if self.open_sources is None:
            return None
        return self._once(("sources", ""), "Cloud Run and git", self.open_sources)

    @property
    def repo(self) -> GitRepo | None:
        sources = self.sources()
        return sources.repo if sources else None

    def revisions(self, service: str) -> list[Revision]:
        """The service's newest revisions, oldest first ([] when Cloud Run did not answer)."""
        sources = self.sources()
        if sources is None:
            return []

        def read() -> list[Revision]:
            found = sources.cloud_run.list_revisions(service, REVISIONS_READ)
            labels = [r.commit_label for r in found if r.commit_label and len(r.commit_label) == 40]
            sources.repo.index_back_to(labels)  # in one pass over history, not one walk each
            return found

        found = self._once(("revisions", service), f"{service}'s revisions (Cloud Run)", read)
        return sorted(found or [], key=lambda r: r.created)

    def service(self, service: str) -> ServiceState | None:
        sources = self.sources()
        if sources is None:
            return None
        return self._once(
            ("service", service),
            f"{service} (Cloud Run)",
            lambda: sources.cloud_run.get_service(service),
        )

    def commit(self, label: str | None) -> CommitInfo | None:
        """The commit a revision's label names (None: no label, or not in the repository)."""
        repo = self.repo
        if label is None or repo is None:
            return None
        return self._once(("commit", label), f"commit {label} (git)", lambda: repo.resolve(label))

    def last_change(self, commit: CommitInfo, paths: list[str]) -> CommitInfo | None:
        """The newest commit in `commit` touching `paths`: what the revision changed for its
        service (main's commit at a deploy is often another service's)."""
        repo = self.repo
        if repo is None:
            return None
        return self._once(
            ("last_change", f"{commit.sha}:{','.join(paths)}"),
            f"{commit.short}'s last change to {', '.join(paths)} (git)",
            lambda: repo.newest_touching(paths, tip=commit.sha),
        )
