"""What the cause finder reads from the platform, each read once per report.

Several failing checks share writers (and a Details click re-reads none of another report's):
Cloud Run's revisions and traffic of a service, and commits resolved through git, are read
once and kept for the report. A source that cannot answer is a gap of each check that asked
for it, said beside its causes ("likely causes not fully looked for: …"), never a crash, never a
cause, and never "no likely cause found".
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
class Kept:
    """What the report's reads found, shared by every check's: each key's value, or why it
    could not be read."""

    values: dict[tuple[str, str], object] = field(default_factory=dict)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Reads:
    """The report's reads of Cloud Run and git (opened on first use), and the gaps: what this
    check's reads (`for_check`) could not read, said beside its causes."""

    open_sources: Callable[[], DriftSources] | None
    gaps: list[str] = field(default_factory=list)
    kept: Kept = field(default_factory=Kept)

    def for_check(self) -> Reads:
        """The same reads, read once for the whole report, with gaps of one check's own."""
        return Reads(self.open_sources, kept=self.kept)

    def _gap(self, said: str) -> None:
        with self.kept.lock:
            if said not in self.gaps:
                self.gaps.append(said)

    def _once(self, key: tuple[str, str], what: str, reading: Callable[[], T]) -> T | None:
        """`reading()` the first time `key` is asked for (others asking meanwhile wait for it);
        a read that failed is a gap of every check that asks for it."""
        kept = self.kept
        with kept.lock:
            key_lock = kept.locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in kept.values:
                try:
                    kept.values[key] = reading()
                except AdapterError as exc:
                    log.warning("health causes: %s: %s", what, exc)
                    kept.values[key] = None
                    kept.failed[key] = f"{what} ({exc})"
            failed = kept.failed.get(key)
            if failed is not None:
                self._gap(failed)
            return kept.values[key]  # type: ignore[return-value]

    def sources(self) -> DriftSources | None:
        """Cloud Run and the repo, or None when this platform has none (a warehouse-only run)."""
        if self.open_sources is None:
            return None
        return self._once(
            ("sources", ""), "Cloud Run and git could not be opened", self.open_sources
        )

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

        what = f"Cloud Run could not be read for {service}'s revisions"
        found = self._once(("revisions", service), what, read)
        return sorted(found or [], key=lambda r: r.created)

    def service(self, service: str) -> ServiceState | None:
        sources = self.sources()
        if sources is None:
            return None
        return self._once(
            ("service", service),
            f"Cloud Run could not be read for {service}'s serving revisions",
            lambda: sources.cloud_run.get_service(service),
        )

    def commit(self, label: str | None) -> CommitInfo | None:
        """The commit a revision's label names (None: no label, or not in the repository)."""
        repo = self.repo
        if label is None or repo is None:
            return None
        what = f"git could not be read for commit {label}"
        return self._once(("commit", label), what, lambda: repo.resolve(label))

    def last_change(self, commit: CommitInfo, paths: list[str]) -> CommitInfo | None:
        """The newest commit in `commit` touching `paths`: what the revision changed for its
        service (main's commit at a deploy is often another service's)."""
        repo = self.repo
        if repo is None:
            return None
        return self._once(
            ("last_change", f"{commit.sha}:{','.join(paths)}"),
            f"git could not be read for {commit.short}'s last change to {', '.join(paths)}",
            lambda: repo.newest_touching(paths, tip=commit.sha),
        )
