"""The scheduled digests in Slack: drift and health in full or as a heartbeat line."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import Block, DividerBlock

from bot.views.digest_drift import drift_digest, notes
from bot.views.health import OVERALL_EMOJI, check_blocks
from bot.views.kit import context, escape, header, within_limits
from bot.views.weekly import weekly_report
from checks.result import HealthReport
from commands.schedule.decide import Post, local_stamp, since_text
from commands.schedule.digests import changed_checks
from commands.schedule.drift_rollouts import DriftDigest
from commands.schedule.runner import Publication
from commands.schedule.weekly import WeeklyReport

TITLES = {"drift-digest": "Drift digest", "health-digest": "Health digest"}


def _stamp(publication: Publication) -> str:
    return local_stamp(publication.now, publication.config.timezone)


def render(
    publication: Publication, links: Mapping[int, str] | None = None
) -> tuple[str, list[Block]]:
    """The message a run posts, as its decision says: in full, or one heartbeat line.
    `links`: the messages of the rollouts under way, by rollout id (the drift digest's)."""
    if publication.post is Post.HEARTBEAT:
        return heartbeat(publication)
    report = publication.report
    if isinstance(report, DriftDigest):
        return drift_digest(publication, report, links)
    if isinstance(report, HealthReport):
        return health_digest(publication, report)
    assert isinstance(report, WeeklyReport)
    return weekly_report(report, publication.config.timezone, notes(publication))


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
    said = notes(publication)
    text = " · ".join([*said, line]) if said else line
    return text, [context(escape(text))]


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
        *[context(n) for n in notes(publication)],
        DividerBlock(),
    ]
    for result in ordered:
        if result.name in changed:
            was = changed[result.name]
            said = "not in the last digest" if was == "new" else f"was {was}"
            blocks.append(context(f":new: *{result.name}* {said}"))
        blocks.extend(check_blocks(result, report.as_of))
    text = f"Health digest: {publication.findings.summary}"
    return text, within_limits(blocks, "checks")
