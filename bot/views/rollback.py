"""/rollback in Slack: the revisions to choose from, each with a confirmed Roll back button."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, ButtonElement, ConfirmObject, PlainTextObject

from bot.actions import ActionId, RollbackTo
from bot.views.kit import button, context, escape, header, section, within_limits
from checks.drift_model import age_text
from commands.rollback import Candidate


def _roll_back_button(service: str, revision: str) -> ButtonElement:
    confirm = ConfirmObject(
        title=PlainTextObject(text="Roll back?"),
        text=f"Send 100% of {service}'s traffic to {revision}.",
        confirm="Roll back",
        deny="Cancel",
    )
    value = RollbackTo(service=service, revision=revision).encode()
    return button("Roll back", ActionId.ROLLBACK_TO, value, "danger", confirm)


def candidates_view(service: str, found: list[Candidate], now: datetime) -> tuple[str, list[Block]]:
    blocks: list[Block] = [header(f"Roll back {service}")]
    for c in found:
        line = (
            f"*{escape(c.revision)}* · {c.percent}% now · `{escape((c.commit or 'no label')[:8])}` "
            f"{escape(c.subject or '')} · {age_text(c.created, now)} old"
        )
        serving_all = c.percent == 100
        accessory = None if serving_all or not c.ready else _roll_back_button(service, c.revision)
        if not c.ready:
            line += " · _not ready_"
        blocks.append(section(line, accessory=accessory))
    blocks.append(
        context("Rolling back moves 100% of traffic to the revision and reads it back to verify.")
    )
    return f"Roll back {service}: pick a revision", within_limits(blocks, "revisions")


def confirm_view(service: str, revision: str) -> tuple[str, list[Block]]:
    return f"Roll back {service} to {revision}?", [
        section(
            f"Roll back *{escape(service)}* to *{escape(revision)}*?",
            accessory=_roll_back_button(service, revision),
        ),
    ]
