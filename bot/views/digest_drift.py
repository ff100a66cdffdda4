"""The drift digest in Slack: per service its standing, the rollout under way for it, and :new:
on exactly the lines that changed since the last digest (the legend only when one is marked)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock

from bot.actions import ActionId, DriftExpand
from bot.views.drift import SEVERITY_EMOJI, commit_line
from bot.views.kit import button, context, escape, header, section, within_limits
from checks.drift_model import ServiceDrift, age_text
from commands.schedule.decide import local_stamp, missed_text, since_text
from commands.schedule.digests import ServiceNews, drift_news, gone
from commands.schedule.drift_rollouts import DriftDigest, ServiceRollout, deploy_offered
from commands.schedule.runner import Publication
from infra.wording import said, short_sha
from store.states import RolloutState

NEW = ":new:"
NEW_COMMITS_SHOWN = 3
UNDER_WAY = {  # what a rollout that owns no split is doing, in words
    RolloutState.CHECKLIST: "its checklist is posted, nothing deployed yet",
    RolloutState.CANARY: "its canary is being created",
    RolloutState.WATCH: "at 100%, watched before it completes",
    RolloutState.ROLLING_BACK: "rolling back",
}


def notes(publication: Publication) -> list[str]:
    """The run's own notes: the runs it catches up on."""
    if not publication.missed:
        return []
    timezone = publication.config.timezone
    return [f":hourglass: {missed_text(publication.missed, publication.now, timezone)}"]


def drift_digest(
    publication: Publication, digest: DriftDigest, links: Mapping[int, str] | None = None
) -> tuple[str, list[Block]]:
    """The digest in full; `links`: each rollout under way's message, by rollout id."""
    report, previous = digest.report, publication.previous
    now = report.checked_at
    news = drift_news(digest, previous)
    listed = [
        s
        for s in report.services
        if s.commits_behind > 0 or s.findings or digest.rollout_of(s.service)
    ]
    in_sync = [s for s in report.services if s not in listed]
    caught_up = [s for s in in_sync if news[s.service].changed]
    removed = gone(digest, previous)
    sections = [
        _service_section(s, news[s.service], digest.rollout_of(s.service), links or {}, now)
        for s in listed
    ] + [section(_caught_up_line(s, previous.detail if previous else {})) for s in caught_up]
    marked = any(n.changed for n in news.values()) or bool(removed)
    summary = publication.findings.summary
    blocks: list[Block] = [
        header(f"Drift digest · {summary}"),
        context(
            f"{local_stamp(publication.now, publication.config.timezone)} · "
            f"main `{report.main.short}` · {_legend(publication, marked)}"
        ),
        *[context(n) for n in notes(publication)],
        DividerBlock(),
        *sections,
    ]
    steady = [s.service for s in in_sync if s not in caught_up]
    if steady:
        blocks.append(context(f":large_green_circle: running main: {', '.join(steady)}"))
    if removed:
        blocks.append(context(f"{NEW} no longer in the profile: {', '.join(removed)}"))
    return f"Drift digest: {summary}", within_limits(blocks, "services")


def _legend(publication: Publication, marked: bool) -> str:
    """What the marks mean, said only when a line carries one."""
    previous = publication.previous
    if previous is None:
        return "first digest"
    since = since_text(previous.fire_time, publication.now, publication.config.timezone)
    if marked:
        return f"changes since the last digest ({since}) are marked {NEW}"
    return f"no change since the last digest ({since})"


def _service_section(
    service: ServiceDrift,
    told: ServiceNews,
    running: ServiceRollout | None,
    links: Mapping[int, str],
    checked_at: datetime,
) -> Block:
    """One service's lines, :new: where changed; Deploy only if it lags and no rollout runs."""
    oldest = min(
        (r.undeployed.oldest_at for r in service.revisions if r.undeployed.oldest_at),
        default=None,
    )
    line = (
        f"{SEVERITY_EMOJI[service.severity]} *{service.service}* {service.severity.value} · "
        f"{service.commits_behind} behind · oldest {age_text(oldest, checked_at)}"
    )
    if told.severity_before and told.severity_before != service.severity.value:
        line += f" · was {told.severity_before}"
    if told.behind_change:
        line += f" · {told.behind_change:+d} since the last digest"
    lines = [f"{NEW} {line}" if told.changed else line]
    lines += [f"{NEW} {commit_line(c, checked_at)}" for c in told.new_commits[:NEW_COMMITS_SHOWN]]
    if len(told.new_commits) > NEW_COMMITS_SHOWN:
        lines.append(f"_and {len(told.new_commits) - NEW_COMMITS_SHOWN} more new_")
    if running is not None:
        lines.append(_rollout_line(running, links.get(running.id)))
    lines += [f":warning: {escape(f.message)}" for f in service.findings]
    accessory = None
    if deploy_offered(service, running):
        value = DriftExpand(service=service.service).encode()
        accessory = button(f"Deploy {service.service}", ActionId.DIGEST_DEPLOY, value)
    return section("\n".join(lines), accessory=accessory)


def _rollout_line(running: ServiceRollout, link: str | None) -> str:
    """The rollout under way: its canary's share when the split is its own, with its message."""
    rollout = running.rollout
    canary = rollout.canary_revision
    if running.owns_split and canary is not None:
        doing = (
            f"its canary {escape(canary)} serves {running.canary_percent}%, "
            f"{escape(rollout.stable_revision)} the rest"
        )
        if rollout.state is RolloutState.ROLLING_BACK:
            doing = f"rolling back ({doing})"
    else:
        doing = UNDER_WAY.get(rollout.state, said(rollout.state))
    line = (
        f":arrows_counterclockwise: rollout #{rollout.id} of `{short_sha(rollout.commit_sha)}` "
        f"under way: {doing}"
    )
    return line + (f" · <{escape(link)}|its message>" if link else "")


def _caught_up_line(service: ServiceDrift, before: Mapping[str, object]) -> str:
    """A service that runs main and did not at the last digest (or changed what it runs)."""
    line = f"{NEW} {SEVERITY_EMOJI[service.severity]} *{service.service}* runs main"
    services = before.get("services")
    was = services.get(service.service) if isinstance(services, dict) else None
    if isinstance(was, dict) and was.get("behind"):
        line += f" · was {was.get('severity')}, {was['behind']} behind"
    return line
