"""The schedule in Slack: `/digest`'s list with "Post now", and the App Home at a glance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock

from bot.actions import ActionId, DigestJob
from bot.views.kit import button, context, escape, header, section, within_limits
from commands.schedule.decide import local_stamp
from commands.schedule.registry import JOBS
from commands.schedule.status import JobStatus
from infra.wording import plural, said
from store.backfill_views import BackfillView, DateState
from store.schedule_views import RunView
from store.views import RolloutView

COMMAND_HELP = {  # one line each: what a new user reads on the App Home
    "/health": "run the platform's health checks and post the scored report ([YYYY-MM-DD])",
    "/drift": "what each service runs against main; `contains <sha>`: is a commit live?",
    "/deploy": "SERVICE [commit]: the checklist, then a canary with Promote and Roll back",
    "/rollback": "SERVICE [revision]: move a service's traffic back to a previous revision",
    "/regrade": "START [END]: a grading backfill of game dates, planned first",
    "/digest": f"[{'|'.join(j.short for j in JOBS)}]: the scheduled jobs, next and last runs, Post now",
    "/postmortem": "rollout N | YYYY-MM-DD | last: a postmortem draft to edit and export",
}


def job_line(status: JobStatus) -> str:
    config = status.config
    last = status.last_run
    state = "" if config.enabled else " · _disabled_"
    lines = [
        f"*{status.id}* · `{config.cron}` {config.timezone} → {escape(config.channel)}{state}",
        f"next {local_stamp(status.next_run, config.timezone)} · last "
        + (
            f"{local_stamp(last.fire_time, config.timezone)}: {escape(last.result)}"
            if last
            else "never run"
        ),
    ]
    return "\n".join(lines)


def schedule_list(statuses: Sequence[JobStatus]) -> tuple[str, list[Block]]:
    """`/digest`: each job's schedule, next and last run, and a Post now button."""
    blocks: list[Block] = [header("Scheduled digests")]
    for status in statuses:
        value = DigestJob(job=status.id).encode()
        blocks.append(
            section(job_line(status), accessory=button("Post now", ActionId.DIGEST_POST_NOW, value))
        )
    blocks.append(
        context(
            "Digests post in full when their findings change, else one line a day; "
            "Post now posts in full at once."
        )
    )
    return f"Scheduled digests: {plural(len(statuses), 'job')}", blocks


def home_view(
    statuses: Sequence[JobStatus],
    health: RunView | None,
    drift: RunView | None,
    rollouts: Sequence[RolloutView],
    backfills: Sequence[BackfillView],
    links: Mapping[str, str],
    now: datetime,
) -> dict[str, object]:
    """The App Home tab: health, drift per service, what is running, what comes next, the commands."""
    zone = statuses[0].config.timezone if statuses else "UTC"
    blocks: list[Block] = [
        header("opsbot · the NBA props platform at a glance"),
        context(f"as of {local_stamp(now, zone)} · from the last digests and the store"),
        DividerBlock(),
    ]
    if health is not None:
        blocks.append(
            section(f"*Health* · {escape(health.summary)}\n_{local_stamp(health.fire_time, zone)}_")
        )
    else:
        blocks.append(section("*Health* · no health digest yet: run `/health`"))
    if drift is not None:
        services = drift.detail.get("services", {})
        live = {r.id for r in rollouts}
        lines = [_drift_line(name, info, live, links) for name, info in sorted(services.items())]
        blocks.append(
            section(
                f"*Drift* · {escape(drift.summary)} · _{local_stamp(drift.fire_time, zone)}_\n"
                + "\n".join(lines)
            )
        )
    else:
        blocks.append(section("*Drift* · no drift digest yet: run `/drift`"))
    running = [
        f"rollout #{r.id} {r.service} {said(r.state)}" + _link(links, f"rollout:{r.id}")
        for r in rollouts
    ] + [
        f"backfill #{b.id}: {b.count(DateState.DONE)} of {plural(len(b.dates), 'date')} done"
        + _link(links, f"backfill:{b.id}")
        for b in backfills
    ]
    blocks.append(section("*Running* · " + ("\n".join(running) if running else "nothing")))
    blocks.append(
        section(
            "*Next digests*\n"
            + "\n".join(
                f"{s.id} → {escape(s.config.channel)} · {local_stamp(s.next_run, s.config.timezone)}"
                for s in statuses
            )
        )
    )
    blocks.append(DividerBlock())
    blocks.append(
        section("*Commands*\n" + "\n".join(f"`{c}` {escape(h)}" for c, h in COMMAND_HELP.items()))
    )
    return {"type": "home", "blocks": [b.to_dict() for b in within_limits(blocks)]}


def _drift_line(
    name: str, info: Mapping[str, Any], live: set[int], links: Mapping[str, str]
) -> str:
    """One service as the last drift digest found it, with its rollout if still `live`."""
    line = f"`{name}` {info['severity']} · {info['behind']} behind"
    rollout = info.get("rollout")
    if rollout in live:
        line += f" · rollout #{rollout} under way" + _link(links, f"rollout:{rollout}")
    return line


def _link(links: Mapping[str, str], key: str) -> str:
    url = links.get(key)
    return f" · <{url}|message>" if url else ""
