"""`opsbot doctor`: every permission and resource opsbot needs, checked against the real project.

One table (GRANTS) says which role grants what and which command needs it; the README's
permission list is rendered from it (tests/unit/test_readme.py keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from adapters.bigquery import BigQueryWarehouse
from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun
from adapters.errors import AdapterError
from adapters.monitoring import Monitoring
from adapters.pubsub import PubSub
from config import Profile


@dataclass(frozen=True)
class Grant:
    role: str
    grants: str
    needed_by: str


GRANTS = (
    Grant(
        "roles/bigquery.jobUser", "runs queries (`bigquery.jobs.create`)", "/health, data checks"
    ),
    Grant("roles/bigquery.dataViewer", "reads the profile's tables", "/health, data checks"),
    Grant(
        "roles/run.developer",
        "reads services and revisions, updates traffic (`run.services.get`, `.update`)",
        "/drift, /deploy, /rollback",
    ),
    Grant(
        "roles/iam.serviceAccountUser",
        "deploys revisions that run as the service's runtime account (`iam.serviceAccounts.actAs`)",
        "/deploy, /rollback",
    ),
    Grant("roles/monitoring.viewer", "reads request counts and latencies", "canary analysis"),
    Grant("roles/logging.viewer", "reads the canary's ERROR lines", "canary analysis"),
    Grant("roles/pubsub.publisher", "publishes grading triggers", "regrade"),
    Grant(
        "roles/pubsub.subscriber",
        "pulls grading completions (on opsbot-grading-complete)",
        "regrade",
    ),
)
ROLE = {g.role.removeprefix("roles/"): g.role for g in GRANTS}
SERVICE_PERMISSIONS = ("run.services.get", "run.services.update")
SLACK_SCOPES = {
    "commands": "slash commands",
    "chat:write": "posting and updating messages",
    "channels:read": "checking it is in the canary channel (public)",
    "groups:read": "checking it is in the canary channel (private)",
    "channels:history": "deleting a rollout message a crashed replica left (public channel)",
    "groups:history": "the same in a private canary channel",
    "files:write": "a postmortem shared as a Markdown file",
}


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report: OK, missing (with what grants it), or not checked."""

    what: str
    ok: bool | None  # None: cannot be checked from here (said in `detail`)
    detail: str = ""
    grant: str = ""

    @property
    def label(self) -> str:
        return {True: "OK", False: "MISSING", None: "NOT CHECKED"}[self.ok]


Probe = Callable[[], str | None]  # None when fine, else what is wrong


def probe(what: str, grant: str, check: Probe) -> Finding:
    """Run one check; an adapter's error is a finding, not a crash."""
    try:
        problem = check()
    except AdapterError as exc:
        problem = str(exc)
    return Finding(what, problem is None, problem or "", grant if problem else "")


def google_findings(
    profile: Profile,
    warehouse: BigQueryWarehouse,
    cloud_run: CloudRun,
    monitoring: Monitoring,
    logs: CloudLogging,
    now: datetime,
    pubsub: PubSub | None = None,
) -> list[Finding]:
    """Tables, services, metrics and logs: what each command will touch, tried for real."""
    found = []
    for table in sorted(set(profile.tables.model_dump().values())):
        found.append(
            probe(
                f"BigQuery: read {table}",
                f"{ROLE['bigquery.jobUser']} and {ROLE['bigquery.dataViewer']}",
                partial(warehouse.can_read, table),
            )
        )
    for service in profile.services:
        found.append(
            probe(
                f"Cloud Run: read and update {service.name}",
                ROLE["run.developer"],
                partial(_service_access, cloud_run, service.name),
            )
        )
    found.append(
        Finding(
            "Cloud Run: act as the services' runtime service account",
            None,
            "needs the IAM API to test; grant "
            f"{ROLE['iam.serviceAccountUser']} on that account, or the first Start canary is refused",
        )
    )
    if profile.services:
        first = profile.services[0].name
        since = now - timedelta(minutes=10)

        def metrics() -> str | None:
            state = cloud_run.get_service(first)
            monitoring.revision_metrics(first, state.latest_ready_revision, since, now)
            return None

        def error_lines() -> str | None:
            state = cloud_run.get_service(first)
            logs.errors(first, state.latest_ready_revision, since, limit=1)
            return None

        found.append(
            probe(f"Monitoring: read {first}'s request metrics", ROLE["monitoring.viewer"], metrics)
        )
        found.append(
            probe(f"Logging: read {first}'s log entries", ROLE["logging.viewer"], error_lines)
        )
    if pubsub is not None:
        regrade = profile.regrade
        found.append(
            probe(
                f"Pub/Sub: publish to {regrade.trigger_topic}",
                ROLE["pubsub.publisher"],
                partial(
                    _lacks,
                    pubsub,
                    pubsub.topic_path(regrade.trigger_topic),
                    ["pubsub.topics.publish"],
                ),
            )
        )
        found.append(
            probe(
                f"Pub/Sub: pull {regrade.complete_subscription}",
                ROLE["pubsub.subscriber"],
                partial(
                    _lacks,
                    pubsub,
                    pubsub.subscription_path(regrade.complete_subscription),
                    ["pubsub.subscriptions.consume"],
                ),
            )
        )
    return found


def _lacks(pubsub: PubSub, resource: str, wanted: list[str]) -> str | None:
    granted = pubsub.permissions(resource, wanted)
    lacking = [p for p in wanted if p not in granted]
    return f"lacks {', '.join(lacking)}" if lacking else None


def _service_access(cloud_run: CloudRun, service: str) -> str | None:
    granted = cloud_run.permissions(service, SERVICE_PERMISSIONS)
    lacking = [p for p in SERVICE_PERMISSIONS if p not in granted]
    return f"lacks {', '.join(lacking)}" if lacking else None


def roles_table() -> str:
    """The README's permission list, as a markdown table."""
    rows = [f"| `{g.role}` | {g.grants} | {g.needed_by} |" for g in GRANTS]
    return "\n".join(["| role | grants | needed by |", "|---|---|---|", *rows])


def healthy(findings: list[Finding]) -> bool:
    """All checked lines OK (lines that cannot be checked from here do not fail it)."""
    return all(f.ok is not False for f in findings)
