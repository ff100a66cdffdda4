"""A failing check's likely causes in Slack, each with the button that acts on it.

The buttons are the ones their own surfaces offer, with the same action ids and values, so the
same listeners answer them and check the same roles: Deploy SERVICE (a drift digest's: the
deploy checklist, deployer role), Roll back (/rollback's, confirmed, deployer role), Regrade
dates (a failing grading check's: the backfill modal, regrader role), Start postmortem
(a rollback's, in its channel).
"""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import Block, ButtonElement, ConfirmObject, PlainTextObject

from bot.actions import ActionId, DriftExpand, PostmortemStart, RegradeStart, RollbackTo
from bot.views.kit import button, clip, context, escape, section
from checks.result import Cause, CauseKind, CheckResult, FixKind, Status
from commands.health_causes.wording import gaps_text
from infra.wording import plural

SHOWN = 3
MAX_CONFIRM_TEXT = 300  # Slack's limit on a confirmation dialog's text
NO_CAUSE = (
    "No likely cause found: no writer of its table was deployed or split inside its window, "
    "no fix naming it waits on main, no job or upstream check explains it."
)
KIND = {
    "deploy": "deploy",
    "drift": "fix not deployed",
    "traffic_split": "traffic split",
    "job": "job",
    "upstream": "upstream check",
}


def _roll_back(service: str, revision: str, seen: tuple[str, ...]) -> ButtonElement:
    """/rollback's Roll back, carrying the revisions the cause found serving: a click after
    they stopped (a redeploy, a promotion since) is refused, not undone."""
    text = f"Send 100% of {service}'s traffic to {revision}."
    confirm = ConfirmObject(
        title=PlainTextObject(text="Roll back?"),
        text=clip(text, MAX_CONFIRM_TEXT),
        confirm="Roll back",
        deny="Cancel",
    )
    value = RollbackTo(service=service, revision=revision, seen=seen).encode()
    return button("Roll back", ActionId.ROLLBACK_TO, value, "danger", confirm)


def fix_button(cause: Cause) -> ButtonElement | None:
    """The button that acts on the cause (None when it names nothing to do)."""
    fix = cause.fix
    if fix is None:
        return None
    if fix.kind is FixKind.DEPLOY and fix.service:
        value = DriftExpand(service=fix.service).encode()
        return button(f"Deploy {fix.service}", ActionId.DIGEST_DEPLOY, value)
    if fix.kind is FixKind.ROLLBACK and fix.service and fix.revision:
        return _roll_back(fix.service, fix.revision, _seen_serving(cause))
    if fix.kind is FixKind.REGRADE and fix.start and fix.end:
        days = len(fix.dates) or (fix.end - fix.start).days + 1  # the dates behind, if named
        value = RegradeStart(start=fix.start, end=fix.end).encode()  # the modal opens on the range
        return button(f"Regrade {plural(days, 'date')}", ActionId.REGRADE_OPEN, value)
    if fix.kind is FixKind.POSTMORTEM and fix.start:
        value = PostmortemStart(subject=f"date:{fix.start}").encode()
        return button("Start postmortem", ActionId.POSTMORTEM_START, value)
    return None


def _seen_serving(cause: Cause) -> tuple[str, ...]:
    """The revisions a rollback cause found serving: a deploy's own revision (a Roll back is
    offered only while it serves); a split's revision it names and its largest share (the
    rollback's target). Not every revision serving: a cause does not list them all."""
    found = [cause.revision]
    if cause.kind is CauseKind.TRAFFIC_SPLIT and cause.fix is not None:
        found.append(cause.fix.revision)
    return tuple(dict.fromkeys(r for r in found if r))


def cause_text(number: int, cause: Cause) -> str:
    """`*1. deploy* · nba-phase3-… began serving … (since …)`"""
    kind = KIND.get(cause.kind.value, cause.kind.value)
    return clip(f"*{number}. {kind}* · {escape(cause.evidence)}")


def _gaps(result: CheckResult) -> list[Block]:
    """What could not be read while its causes were looked for, if anything."""
    if not result.causes_incomplete:
        return []
    said = gaps_text(result.causes_incomplete, found=bool(result.causes))
    return [context(f":warning: {escape(said[:1].upper() + said[1:])}.")]


def cause_blocks(result: CheckResult, as_of: date) -> list[Block]:
    """The top causes of a failing check, most likely first, each with its button; a failing
    check without any says so (an answer too), unless they could not be fully looked for: then
    what could not be read is said instead. Nothing for a check that passed."""
    if result.status not in (Status.WARN, Status.CRITICAL):
        return []
    if not result.causes:
        return _gaps(result) or [context(f":mag: {NO_CAUSE}")]
    shown = result.causes[:SHOWN]
    blocks: list[Block] = [
        context(f":mag: {plural(len(shown), 'likely cause')} for {as_of}, most likely first")
    ]
    for number, cause in enumerate(shown, start=1):
        blocks.append(section(cause_text(number, cause), accessory=fix_button(cause)))
    return blocks + _gaps(result)
