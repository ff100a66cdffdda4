"""The postmortem's edit modal: opened by its Edit button, saved by its submission.

The skeleton of every interaction: the modal opens ("Loading…") before any tool is touched (a
trigger_id lives 3 s) and is filled in after; a submission is answered at once, with `errors`
under a field the person can fix or "Saving…", and saved after (Slack gives it 3 s). A save
that loses to someone else's shows the form again with the person's text and a warning.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import PostmortemRef
from bot.deps import deps
from bot.errors import describe
from bot.listeners.replies import ephemeral
from bot.parsed import payload, value
from bot.payloads import Click, Submission
from bot.postmortem_messages import (
    ID_MAX,
    NO_SUCH_POSTMORTEM,
    show,
    stored,
    today_in,
    update_modal,
)
from bot.runtime import Runtime
from bot.views.kit import USER_ID
from bot.views.messages import notice
from bot.views.postmortem import (
    EDIT_MODAL,
    EDIT_TITLE,
    MODAL_TEXT,
    EditValues,
    edit_modal,
    severity_hint,
    status_modal,
)
from commands.errors import RequestError
from commands.postmortem.model import Document
from store.postmortem_views import SECTIONS

log = logging.getLogger("opsbot.slack")
StoreId = Annotated[int, Field(strict=True, ge=1, le=ID_MAX)]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{0,32}$")]
CANNOT_READ = (
    "This form is not one opsbot can read (it may be from an older version): close it, "
    "then press Edit on the postmortem again."
)
CONFLICT = (
    ":warning: Someone else saved this postmortem after you opened it. What you wrote is "
    "below: Save again to put it over theirs, or Cancel to keep theirs."
)


class EditOpened(BaseModel):
    """The edit modal's `private_metadata`: the postmortem and the version the person saw, and
    the channel it was opened in (the access check reads it on submission)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: StoreId
    version: StoreId
    channel: ChannelId = ""
    channel_name: Annotated[str, StringConstraints(max_length=80)] = ""


@dataclass(frozen=True)
class NewItem:
    text: str
    owner: str
    due: date


@dataclass(frozen=True)
class EditForm:
    """What the person submitted: read without the store, so it is checked before the ack."""

    severity: str | None  # None: not in the form (left as it is)
    sections: dict[str, str]  # every section in the form, as typed (empty: back to the draft's)
    item: NewItem | None

    def changed(self, doc: Document) -> dict[str, str]:
        """The sections whose text differs from the postmortem's now."""
        return {
            name: text
            for name, text in self.sections.items()
            if text.strip() != doc.sections.get(name, "").strip()
        }

    def shown(self, doc: Document | None = None) -> EditValues:
        """The form again: what the person typed, over the postmortem's now (when known)."""
        item, sections = self.item, doc.sections if doc is not None else {}
        return EditValues(
            self.severity or (doc.severity if doc is not None else ""),
            {name: self.sections.get(name, sections.get(name, "")) for name in SECTIONS},
            item.text if item else "",
            item.owner if item else None,
            item.due if item else None,
        )


def _field(values: dict[str, Any], block: str, key: str = "value") -> Any:
    element = values.get(block, {}).get(block, {})
    return element.get(key) if isinstance(element, dict) else None


def _text(values: dict[str, Any], block: str) -> str:
    given = _field(values, block)
    if given is not None and not isinstance(given, str):
        raise RequestError(f"{block}: not text")
    if given is not None and len(given) > MODAL_TEXT:
        raise RequestError(f"{block}: at most {MODAL_TEXT} characters")
    return given or ""


def read_edit(values: dict[str, Any], today: date, severities: list[str]) -> EditForm:
    """The form, or a RequestError naming the field to fix (as `block: message`)."""
    option = _field(values, "severity", "selected_option")
    severity = option.get("value") if isinstance(option, dict) else None
    if severity is not None and severity not in severities:
        raise RequestError(f"severity: one of {', '.join(severities)}")
    sections = {name: _text(values, name) for name in SECTIONS if name in values}
    what = _text(values, "item_text").strip()
    owner = _field(values, "item_owner", "selected_user")
    due_text = _field(values, "item_due", "selected_date")
    if not (what or owner or due_text):
        return EditForm(severity, sections, None)
    for block, given in (("item_text", what), ("item_owner", owner), ("item_due", due_text)):
        if not given:
            raise RequestError(f"{block}: an action item needs what, an owner and a due date")
    if not isinstance(owner, str) or USER_ID.fullmatch(owner) is None:  # it becomes a mention
        raise RequestError("item_owner: pick a person")
    try:
        due = date.fromisoformat(due_text) if isinstance(due_text, str) else None
    except ValueError:
        due = None
    if due is None:
        raise RequestError("item_due: pick a date")
    if due < today:
        raise RequestError(f"item_due: {due} is in the past; pick {today} or later")
    return EditForm(severity, sections, NewItem(what, owner, due))


def parse_edit(
    values: dict[str, Any], doc: Document, today: date, severities: list[str]
) -> tuple[str, dict[str, str], tuple[str, str, date] | None]:
    """(severity, the sections people changed, a new item (text, owner, due) or None).

    A RequestError names the field to fix (as `block: message`).
    """
    form = read_edit(values, today, severities)
    severity = form.severity or doc.severity
    if severity not in severities:
        raise RequestError(f"severity: one of {', '.join(severities)}")
    item = (form.item.text, form.item.owner, form.item.due) if form.item else None
    return severity, form.changed(doc), item


def _metadata(opened: EditOpened, version: int | None = None) -> str:
    at = opened if version is None else opened.model_copy(update={"version": version})
    return at.model_dump_json()


async def on_edit(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Edit: the modal opens at once ("Loading…"), then shows the postmortem as stored."""
    click, wanted = payload(context, Click), value(context, PostmortemRef)
    await ack()
    runtime = deps(context).runtime
    try:
        loading = status_modal(EDIT_MODAL, EDIT_TITLE, "Loading the postmortem…")
        opened = await client.views_open(trigger_id=click.trigger_id or "", view=loading)
    except SlackApiError as exc:  # a trigger_id that is missing, used or expired
        log.warning("could not open the edit modal: %s", exc.response.get("error"))
        said = notice("Slack would not open the form: press Edit again.")
        await respond(**ephemeral(*said), replace_original=False)
        return
    where = (click.channel_id or "", click.channel.name if click.channel else None)
    try:
        view = await _form(runtime, wanted.postmortem, where)
    except Exception as exc:
        view = status_modal(EDIT_MODAL, EDIT_TITLE, f":warning: {describe(exc).text}")
    await update_modal(client, opened["view"]["id"], view)


async def _form(
    runtime: Runtime, postmortem_id: int, where: tuple[str, str | None]
) -> dict[str, Any]:
    _, found = await stored(runtime, postmortem_id)
    doc = Document.of(found)
    channel, name = where
    opened = EditOpened(
        id=found.id, version=found.version, channel=channel, channel_name=name or ""
    )
    severities = runtime.profile.postmortem.severities
    return edit_modal(EditValues.of(doc), severities, _metadata(opened), hint=severity_hint(doc))


def _opened(submission: Submission) -> EditOpened | None:
    try:
        return EditOpened.model_validate_json(submission.view.private_metadata or "{}")
    except ValidationError as exc:
        log.warning("refused an edit whose form opsbot did not draw: %s", exc.error_count())
        return None


async def on_save(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Save: errors under a field to fix, else "Saving…"; then the edit (and the new item), the
    message re-rendered, and the outcome in the modal."""
    submission, runtime = payload(context, Submission), deps(context).runtime
    opened = _opened(submission)
    if opened is None:
        await ack(response_action="update", view=status_modal(EDIT_MODAL, EDIT_TITLE, CANNOT_READ))
        return
    profile = runtime.profile
    try:
        today = today_in(runtime, profile.platform.human_timezone)
        form = read_edit(submission.view.state.values, today, profile.postmortem.severities)
    except RequestError as exc:
        block, _, message = str(exc).partition(": ")
        await ack(response_action="errors", errors={block: message[:150]})
        return
    await ack(response_action="update", view=status_modal(EDIT_MODAL, EDIT_TITLE, "Saving…"))
    try:
        said = await _save(runtime, client, submission.user.id, opened, form)
    except Exception as exc:  # the form again, with what went wrong above it
        warning = f":warning: {describe(exc).text}"
        severities = profile.postmortem.severities
        said = edit_modal(form.shown(), severities, _metadata(opened), warning=warning)
    await update_modal(client, submission.view.id, said)


async def _save(
    runtime: Runtime, client: AsyncWebClient, user: str, opened: EditOpened, form: EditForm
) -> dict[str, Any]:
    """The edit on the version the person saw; the view to show them after it."""
    try:
        tools, found = await stored(runtime, opened.id)
    except RequestError:
        return status_modal(EDIT_MODAL, EDIT_TITLE, f":warning: {NO_SUCH_POSTMORTEM}.")
    doc = Document.of(found)
    severity, changed = form.severity or doc.severity, form.changed(doc)
    edited = (
        await asyncio.to_thread(
            lambda: tools.postmortems.edit(
                found.id, opened.version, user, severity=severity, sections=changed
            )
        )
        if found.version == opened.version
        else None
    )
    if edited is None:  # someone saved in between: the form again, on theirs, with this text
        return await _lost(runtime, opened, form)
    if form.item is not None:
        item = form.item
        await asyncio.to_thread(
            lambda: tools.postmortems.add_item(
                found.id, text=item.text, owner=item.owner, due=item.due, actor=user
            )
        )
    try:
        await show(tools, client, found.id)
    except Exception as exc:
        said = f"Saved; its message could not be updated: {describe(exc).text}"
        return status_modal(EDIT_MODAL, EDIT_TITLE, said)
    return status_modal(EDIT_MODAL, EDIT_TITLE, ":white_check_mark: Saved: its message shows it.")


async def _lost(runtime: Runtime, opened: EditOpened, form: EditForm) -> dict[str, Any]:
    """The form again after another save won: what this person typed over the postmortem as
    it is now, at its version now (Save again puts it over theirs), and why."""
    try:
        _, latest = await stored(runtime, opened.id)
    except RequestError:
        return status_modal(EDIT_MODAL, EDIT_TITLE, f":warning: {NO_SUCH_POSTMORTEM}.")
    doc = Document.of(latest)
    return edit_modal(
        form.shown(doc),
        runtime.profile.postmortem.severities,
        _metadata(opened, latest.version),
        hint=severity_hint(doc),
        warning=CONFLICT,
    )
