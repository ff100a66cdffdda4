"""/drift in Slack: per-service lines, a service's undeployed commits, "is commit X live?"."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock

from adapters.git import CommitInfo
from bot.actions import ActionId, DriftExpand
from bot.views.kit import (
    button,
    context,
    escape,
    escape_but_mentions,
    fix_command,
    header,
    lines_section,
    section,
    within_limits,
)
from checks.drift_model import (
    Basis,
    DriftReport,
    RevisionDrift,
    ServiceDrift,
    Severity,
    age_text,
)
from commands.drift import (
    ContainsEntry,
    ContainsReport,
    DeployAdvice,
    attention,
    contains_summary,
    services,
)
from infra.wording import plural, short_sha

SEVERITY_EMOJI = {
    Severity.OK: ":large_green_circle:",
    Severity.INFO: ":large_blue_circle:",
    Severity.WARN: ":large_yellow_circle:",
    Severity.CRITICAL: ":red_circle:",
}


def _deployed(revision: RevisionDrift) -> str:
    if revision.commit is not None:
        return f"`{revision.commit.short}`"
    if revision.label:
        return f"`{escape(short_sha(revision.label))}` (not in the repo)"
    return "no commit label"


def revision_line(revision: RevisionDrift, now: datetime) -> str:
    behind = f"{plural(revision.undeployed.count, 'commit')} behind"
    if revision.basis is Basis.TIME:
        behind += " (by time)"
    oldest = age_text(revision.undeployed.oldest_at, now)
    age = f" · oldest {oldest}" if revision.undeployed.count else ""
    return f"{escape(revision.revision)} ({revision.percent}%) runs {_deployed(revision)} · {behind}{age}"


def deploy_fix(advice: DeployAdvice) -> Block:
    """The fix for drift: `/deploy SERVICE`, what it ships, and a warning when that very commit
    failed a canary before (the profile's script would ship it blindly)."""
    line = f"fix: `{escape(advice.slack)}`"
    if advice.ships is not None:
        line += f" ships `{advice.ships.short}` {escape(advice.ships.subject)}"
    warning = advice.warning
    if warning is None:
        return context(line)
    return section(f"{line}\n:warning: {escape_but_mentions(warning)}")


def _fix(service: ServiceDrift, advice: DeployAdvice | None) -> list[Block]:
    if advice is not None:
        return [deploy_fix(advice)]
    return [fix_command(service.action)] if service.action else []


def _service_blocks(
    service: ServiceDrift, now: datetime, advice: DeployAdvice | None = None
) -> list[Block]:
    lines = [f"{SEVERITY_EMOJI[service.severity]} *{service.service}* {service.severity.value}"]
    lines += [revision_line(r, now) for r in service.revisions]
    lines += [f":warning: {escape(f.message)}" for f in service.findings]
    expand = None
    if any(r.undeployed.count for r in service.revisions):
        value = DriftExpand(service=service.service).encode()
        expand = button("Undeployed commits", ActionId.DRIFT_EXPAND, value)
    return [section("\n".join(lines), accessory=expand), *_fix(service, advice)]


def drift_progress(count: int, queued: bool = False) -> tuple[str, list[Block]]:
    text = f"Drift: checking {services(count)} against main"
    state = " (waiting for other reports to finish)" if queued else "…"
    return text, [header("Drift"), context(f":hourglass_flowing_sand: {text}{state}")]


def drift_report(
    report: DriftReport, advice: dict[str, DeployAdvice] | None = None
) -> tuple[str, list[Block]]:
    summary = attention(report)
    blocks: list[Block] = [
        header(f"Drift · {report.severity.value} · {summary}"),
        context(
            f"main `{report.main.short}` ({report.main.committed:%Y-%m-%d %H:%M} UTC) · "
            + (f"{report.freshness} · " if report.freshness else "")
            + f"checked {report.checked_at:%Y-%m-%d %H:%M} UTC in {report.duration_s:.1f}s · "
            "commits behind count only those touching the service's sources"
        ),
        DividerBlock(),
    ]
    for service in report.services:
        blocks.extend(
            _service_blocks(service, report.checked_at, (advice or {}).get(service.service))
        )
    return f"Drift {report.severity.value}: {summary}", within_limits(blocks, "services")


def commit_line(commit: CommitInfo, now: datetime) -> str:
    return (
        f"`{commit.short}` {escape(commit.subject)} — {escape(commit.author)}, "
        f"{age_text(commit.committed, now)} ago"
    )


def undeployed_commits(
    service: ServiceDrift, now: datetime, advice: DeployAdvice | None = None
) -> tuple[str, list[Block]]:
    """The ephemeral expansion of one service: each serving revision's newest missing commits."""
    blocks: list[Block] = [header(f"{service.service}: undeployed commits")]
    for revision in service.revisions:
        shown = revision.undeployed.newest
        lines = [commit_line(c, now) for c in shown]
        if revision.undeployed.count > len(shown):
            lines.append(f"_and {revision.undeployed.count - len(shown)} more_")
        blocks.append(section(f"*{revision_line(revision, now)}*"))
        if lines:
            blocks.append(lines_section(lines))
    if advice is not None:
        blocks.append(deploy_fix(advice))
    elif service.action:
        blocks.append(section(f"To deploy main, run:\n```{escape(service.action)}```"))
    text = f"{service.service}: {plural(service.commits_behind, 'commit')} behind"
    return text, within_limits(blocks, "revisions")


def _contains_line(entry: ContainsEntry) -> str:
    deployed = f"`{escape(short_sha(entry.deployed))}`" if entry.deployed else "no label"
    line = f"*{entry.service}* {escape(entry.revision)} ({entry.percent}%) runs {deployed}"
    if entry.commits_to_reach is not None and entry.relevant:
        short = plural(entry.commits_to_reach, "commit")
        line += f" · {short} short of it (up to this commit, not main)"
    if entry.note:
        line += f"\n_{escape(entry.note)}_"
    return line


def contains_report(report: ContainsReport) -> tuple[str, list[Block]]:
    commit = report.commit
    summary = contains_summary(report)
    blocks: list[Block] = [
        header(f"Commit {commit.short} · {summary}"),
        context(
            f"`{commit.short}` {escape(commit.subject)} — {escape(commit.author)}, "
            f"{commit.committed:%Y-%m-%d %H:%M} UTC"
        ),
    ]
    groups = (
        (":x: *Missing*", [e for e in report.missing if e.relevant]),
        (
            ":white_circle: *Missing, not touched by the commit*",
            [e for e in report.missing if not e.relevant],
        ),
        (":white_check_mark: *Live*", report.live),
    )
    for title, entries in groups:
        if entries:
            blocks.append(lines_section([title, *(_contains_line(e) for e in entries)]))
    for unknown in report.unknown:
        blocks.append(
            section(f":grey_question: *{unknown['service']}* unknown: {escape(unknown['reason'])}")
        )
    return f"Commit {commit.short}: {summary}", within_limits(blocks, "services")
