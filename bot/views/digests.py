"""The scheduled digests in Slack: drift and health in full or as a heartbeat line."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, DividerBlock

from bot.actions import ActionId, DriftExpand
from bot.views.drift import SEVERITY_EMOJI, commit_line
from bot.views.health import OVERALL_EMOJI, check_blocks
from bot.views.kit import button, context, escape, header, section, within_limits
from bot.views.weekly import weekly_report
from checks.drift_model import DriftReport, age_text
from checks.result import HealthReport
from commands.schedule.decide import Post, local_stamp, missed_text, since_text
from commands.schedule.digests import changed_checks, drift_news, needs_deploy
from commands.schedule.runner import Publication
from commands.schedule.weekly import WeeklyReport

NEW_COMMITS_SHOWN = 3
TITLES = {"drift-digest": "Drift digest", "health-digest": "Health digest"}


def _stamp(publication: Publication) -> str:
    return local_stamp(publication.now, publication.config.timezone)


def _notes(publication: Publication) -> list[str]:
    notes = []
    if publication.missed:
        notes.append(
            f":hourglass: {missed_text(publication.missed, publication.now, publication.config.timezone)}"
        )
    return notes


def render(publication: Publication) -> tuple[str, list[Block]]:
    """The message a run posts, as its decision says: in full, or one heartbeat line."""
    if publication.post is Post.HEARTBEAT:
        return heartbeat(publication)
    report = publication.report
    if isinstance(report, DriftReport):
        return drift_digest(publication, report)
    if isinstance(report, HealthReport):
        return health_digest(publication, report)
    assert isinstance(report, WeeklyReport)
    return weekly_report(report, publication.config.timezone, _notes(publication))


def heartbeat(publication: Publication) -> tuple[str, list[Block]]:
    """'Drift digest: unchanged since 08:00: 3 services behind' (after a catch-up note)."""
    title = TITLES.get(publication.job, publication.job)
    previous = publication.previous
    since = (
        since_text(previous.fire_time, publication.now, publication.config.timezone)
        if previous
        else "the last digest"
    )
    line = f"{title}: unchanged since {since}: {publication.findings.heartbeat}"
    notes = _notes(publication)
    text = " · ".join([*notes, line]) if notes else line
    return text, [context(escape(text))]


def drift_digest(publication: Publication, report: DriftReport) -> tuple[str, list[Block]]:
    before = publication.previous.detail if publication.previous else None
    news = drift_news(report, before)
    behind = [s for s in report.services if s.commits_behind > 0 or s.findings]
    in_sync = [s.service for s in report.services if s not in behind]
    summary = publication.findings.summary
    blocks: list[Block] = [
        header(f"Drift digest · {summary}"),
        context(
            f"{_stamp(publication)} · main `{report.main.short}` · "
            + ("changes since the last digest are marked :new:" if before else "first digest")
        ),
        *[context(n) for n in _notes(publication)],
        DividerBlock(),
    ]
    for service in behind:
        told = news[service.service]
        oldest = min(
            (r.undeployed.oldest_at for r in service.revisions if r.undeployed.oldest_at),
            default=None,
        )
        line = (
            f"{SEVERITY_EMOJI[service.severity]} *{service.service}* {service.severity.value} · "
            f"{service.commits_behind} behind · oldest {age_text(oldest, report.checked_at)}"
        )
        if told.severity_before and told.severity_before != service.severity.value:
            line += f" · was {told.severity_before}"
        if told.behind_change:
            line += f" · {told.behind_change:+d} since the last digest"
        lines = [line]
        lines += [
            f":new: {commit_line(c, report.checked_at)}"
            for c in told.new_commits[:NEW_COMMITS_SHOWN]
        ]
        if len(told.new_commits) > NEW_COMMITS_SHOWN:
            lines.append(f"_and {len(told.new_commits) - NEW_COMMITS_SHOWN} more new_")
        lines += [f":warning: {escape(f.message)}" for f in service.findings]
        accessory = None
        if needs_deploy(service):
            value = DriftExpand(service=service.service).encode()
            accessory = button(f"Deploy {service.service}", ActionId.DIGEST_DEPLOY, value)
        blocks.append(section("\n".join(lines), accessory=accessory))
    if in_sync:
        blocks.append(context(f":large_green_circle: running main: {', '.join(in_sync)}"))
    return f"Drift digest: {summary}", within_limits(blocks, "services")


def health_digest(publication: Publication, report: HealthReport) -> tuple[str, list[Block]]:
    before = publication.previous.detail if publication.previous else None
    changed = changed_checks(report, before)
    ordered = sorted(report.results, key=lambda r: r.name not in changed)
    overall = report.status
    blocks: list[Block] = [
        header(f"Health digest · {overall.value} · score {report.score:g}"),
        context(
            " · ".join(
                [
                    f"{OVERALL_EMOJI[overall]} {_stamp(publication)}",
                    f"game day {report.as_of} (ET)",
                    *(
                        [f"{len(changed)} changed since the last digest, listed first"]
                        if changed
                        else []
                    ),
                    *(["first digest"] if before is None else []),
                ]
            )
        ),
        *[context(n) for n in _notes(publication)],
        DividerBlock(),
    ]
    for result in ordered:
        if result.name in changed:
            blocks.append(context(f":new: *{result.name}* was {changed[result.name]}"))
        blocks.extend(check_blocks(result, report.as_of))
    text = f"Health digest: {publication.findings.summary}"
    return text, within_limits(blocks, "checks")
