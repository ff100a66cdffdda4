"""/rollback in Slack: the revisions to choose from, each with a confirmed Roll back button.

A revision that failed a canary, or that traffic was rolled back away from, is marked in the
list, and its confirmation says so before anything moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ButtonElement, ConfirmObject, PlainTextObject

from bot.actions import SERVING_CARRIED, ActionId, RollbackTo
from bot.views.kit import (
    button,
    clip,
    context,
    escape,
    escape_but_mentions,
    header,
    section,
    within_limits,
)
from checks.drift_model import age_text
from commands.deploy.history import Setback
from commands.rollback import Candidate
from infra.wording import short_sha

MAX_CONFIRM_TEXT = 300  # Slack's limit on a confirmation dialog's text


def drawn_for(
    service: str, revision: str, serving: Sequence[str], *, whole: bool = True
) -> RollbackTo:
    """The value of a Roll back drawn while `serving` (largest share first) serves: all of them
    (exactly these must serve when it is clicked), or, when they are not `whole` or more than a
    button carries, the two largest (each must serve still)."""
    if whole and len(serving) <= SERVING_CARRIED:
        return RollbackTo(service=service, revision=revision, serving=tuple(serving))
    return RollbackTo(service=service, revision=revision, seen=tuple(serving[:2]))


def _roll_back_button(
    service: str,
    revision: str,
    setback: Setback | None,
    serving: Sequence[str],
    *,
    whole: bool = True,
) -> ButtonElement:
    text = f"Send 100% of {service}'s traffic to {revision}."
    title = "Roll back?"
    if setback is not None:
        title = "Roll back to a bad revision?"
        text = f"Warning: {revision} {setback.text()} {text}"
    confirm = ConfirmObject(
        title=PlainTextObject(text=title),
        text=clip(text, MAX_CONFIRM_TEXT),
        confirm="Roll back",
        deny="Cancel",
    )
    value = drawn_for(service, revision, serving, whole=whole).encode()
    return button("Roll back", ActionId.ROLLBACK_TO, value, "danger", confirm)


def _commit(c: Candidate) -> str:
    """What the revision runs: its label, and the service's newest change in it."""
    if c.commit is None:
        return "`no label`"
    shown = f"`{escape(short_sha(c.commit))}`"
    if c.change is None:
        return shown + " (not in the repository)"
    if short_sha(c.change.sha) == short_sha(c.commit):
        return f"{shown} {escape(c.change.subject)}"
    return f"{shown} · last change here `{c.change.short}` {escape(c.change.subject)}"


def candidates_view(
    service: str, found: list[Candidate], now: datetime, *, serving: Sequence[str] | None = None
) -> tuple[str, list[Block]]:
    """The revisions to pick from; each Roll back carries `serving` (every revision serving, as
    read with them), or else those of `found` that serve."""
    blocks: list[Block] = [header(f"Roll back {service}")]
    drawn = serving if serving is not None else _serving_of(found)
    for c in found:
        line = (
            f"*{escape(c.revision)}* · {c.percent}% now · {_commit(c)} · "
            f"{age_text(c.created, now)} old"
        )
        serving_all = c.percent == 100
        accessory = (
            None
            if serving_all or not c.ready
            else _roll_back_button(service, c.revision, c.setback, drawn, whole=serving is not None)
        )
        if not c.ready:
            line += " · _not ready_"
        if c.setback is not None:
            line += f"\n:warning: *{escape(c.setback.what)}* {_when_why(c.setback)}"
        blocks.append(section(line, accessory=accessory))
    blocks.append(
        context("Rolling back moves 100% of traffic to the revision and reads it back to verify.")
    )
    return f"Roll back {service}: pick a revision", within_limits(blocks, "revisions")


def _serving_of(found: list[Candidate]) -> list[str]:
    return [c.revision for c in sorted(found, key=lambda c: -c.percent) if c.percent > 0]


def _when_why(setback: Setback) -> str:
    return f"on {setback.at:%Y-%m-%d %H:%M} UTC: {escape_but_mentions(setback.reason)}"


def confirm_view(
    service: str, revision: str, serving: Sequence[str], setback: Setback | None = None
) -> tuple[str, list[Block]]:
    """`/rollback SERVICE REVISION`'s confirmation, drawn while `serving` serves."""
    asked = f"Roll back *{escape(service)}* to *{escape(revision)}*?"
    if setback is not None:
        asked += f"\n:warning: It {escape(setback.what)} {_when_why(setback)}"
    return f"Roll back {service} to {revision}?", [
        section(asked, accessory=_roll_back_button(service, revision, setback, serving)),
    ]
