"""Every action id the app uses, and the small typed payloads its buttons carry."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from commands.errors import RequestError
from store.states import RolloutState

BUTTON_VALUE_LIMIT = 2000  # Slack's limit for a button's value
STORE_ID_MAX = 2**31 - 1  # the store's ids are 32-bit on PostgreSQL
REVISION_NAME = r"[a-z][a-z0-9-]{0,99}"  # a Cloud Run revision's name


class ActionId(enum.StrEnum):
    HEALTH_DETAILS = "health.details"
    DRIFT_EXPAND = "drift.expand"
    DEPLOY_START = "deploy.start"
    DEPLOY_CANCEL = "deploy.cancel"
    ROLLOUT_PROMOTE = "rollout.promote"
    ROLLOUT_PROMOTE_FULL = "rollout.promote_full"
    ROLLOUT_ROLL_BACK = "rollout.roll_back"
    ROLLBACK_TO = "rollback.to"
    REGRADE_START = "regrade.start"
    REGRADE_DISMISS = "regrade.dismiss"
    BACKFILL_CANCEL = "backfill.cancel"
    BACKFILL_RETRY = "backfill.retry"
    REGRADE_OPEN = "regrade.open"
    DIGEST_DEPLOY = "digest.deploy"
    DIGEST_POST_NOW = "digest.post_now"
    POSTMORTEM_START = "postmortem.start"
    POSTMORTEM_EDIT = "postmortem.edit"
    POSTMORTEM_EXPORT = "postmortem.export"
    POSTMORTEM_FINAL = "postmortem.final"
    ACTION_ITEM_DONE = "postmortem.item_done"


class ButtonValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> str:
        text = self.model_dump_json(exclude_none=True)
        assert len(text) <= BUTTON_VALUE_LIMIT, f"button value over Slack's limit: {text[:80]}"
        return text


class CheckDetails(ButtonValue):
    """Show one check's breakdown for the game day the report judged."""

    check: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    as_of: date


class DriftExpand(ButtonValue):
    """List a service's undeployed commits."""

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")


V = TypeVar("V", bound=ButtonValue)


def decode(kind: type[V], value: str | None) -> V:
    """The payload of a clicked button, or a RequestError when it is not one we made."""
    try:
        return kind.model_validate_json(value or "")
    except ValidationError:
        raise RequestError(
            "this button is from an older version of opsbot; run the command again"
        ) from None


def clicked(body: dict[str, Any], kind: type[V]) -> V:
    """The typed payload of the button an interaction clicked (RequestError when not ours)."""
    actions = body.get("actions") or [{}]
    return decode(kind, actions[0].get("value"))


class DeployStart(ButtonValue):
    """Start the canary of the checklist the requester reviewed."""

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")


class RolloutAction(ButtonValue):
    """Act on a rollout as the message showed it (its state and step): repeated clicks act once,
    and an analysis at the same step (which re-renders the message) does not make it stale."""

    rollout: int = Field(ge=1, le=STORE_ID_MAX)
    state: RolloutState
    step: int = Field(ge=0, le=20)


Revision = Annotated[str, Field(pattern=f"^{REVISION_NAME}$")]
SERVING_CARRIED = 12  # revisions a Roll back carries at most: 12 names of 100 fit Slack's limit


class RollbackTo(ButtonValue):
    """Move all of a service's traffic to this revision, if it serves what the button was drawn
    seeing serving; when that changed since, the click is refused (a stale button must not
    undo a redeploy or a promotion made after it was drawn).

    `serving`: every revision serving when drawn (/rollback's own buttons): exactly these must
    serve still. `seen`: the revisions a likely cause found serving (/health's Details): each
    must serve still. A button drawn before opsbot carried them has neither and acts as before.
    """

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    revision: Revision
    serving: tuple[Revision, ...] | None = Field(default=None, max_length=SERVING_CARRIED)
    seen: tuple[Revision, ...] | None = Field(default=None, max_length=2)


class RegradeStart(ButtonValue):
    """Start the backfill of the plan the person reviewed (its range and options)."""

    start: date
    end: date
    include_graded: bool = False


class BackfillAction(ButtonValue):
    """Cancel, or retry the failed dates of, one backfill."""

    backfill: int = Field(ge=1, le=STORE_ID_MAX)


class DigestJob(ButtonValue):
    """Post a scheduled job's message now."""

    job: str = Field(pattern=r"^[a-z][a-z-]{0,31}$")


class PostmortemStart(ButtonValue):
    """Start (or open) the postmortem of one incident: rollout:12, rollback:345, date:…"""

    subject: str = Field(pattern=r"^((rollout|rollback):\d{1,12}|date:\d{4}-\d{2}-\d{2})$")


class PostmortemRef(ButtonValue):
    """Act on one postmortem (edit it, export it, mark it final)."""

    postmortem: int = Field(ge=1, le=STORE_ID_MAX)


class PostmortemStatus(ButtonValue):
    """Mark a postmortem final, or reopen it, as its message showed it: a repeated click (or one
    on a message drawn before another change) changes nothing."""

    postmortem: int = Field(ge=1, le=STORE_ID_MAX)
    version: int = Field(ge=1, le=STORE_ID_MAX)
    to: Literal["final", "draft"]


class ActionItemRef(ButtonValue):
    """Mark one action item done."""

    item: int = Field(ge=1, le=STORE_ID_MAX)
