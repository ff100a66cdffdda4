"""Postmortems in Slack: the offer after an incident, the draft message, the edit and timeline
modals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.actions import ActionId, ActionItemRef, PostmortemRef, PostmortemStart, PostmortemStatus
from bot.views.kit import (
    button,
    clip,
    context,
    escape,
    escape_but_mentions,
    header,
    mention,
    section,
    within_limits,
)
from bot.views.postmortem_timeline import timeline_blocks
from commands.postmortem.model import Document
from commands.postmortem.render import span, stamp
from store.postmortem_views import SECTIONS, ActionItemView, PostmortemView

EDIT_MODAL = "postmortem.edit_modal"
TIMELINE_MODAL = "postmortem.timeline_modal"
SHORTCUT = "postmortem.add_to_timeline"  # manifest.yml: "Add to postmortem timeline"
SECTION_TITLES = {
    "impact": "Impact",
    "summary": "Summary",
    "root_cause": "Root Cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
}
MODAL_TEXT = 3000  # a plain_text_input's max_length
EDIT_TITLE = "Edit postmortem"
TIMELINE_TITLE = "Add to timeline"


def offer(subject: str, what: str) -> tuple[str, list[Block]]:
    """The "Start postmortem" button, in the thread of what happened."""
    text = f":memo: {what}: write it up while it is fresh."
    start = button(
        "Start postmortem", ActionId.POSTMORTEM_START, PostmortemStart(subject=subject).encode()
    )
    return text, [section(escape(text), accessory=start)]


def _item_line(item: ActionItemView, today: date) -> str:
    mark = (
        ":white_check_mark:"
        if item.state == "done"
        else (":red_circle:" if item.overdue(today) else ":black_square_button:")
    )
    late = " *overdue*" if item.overdue(today) else ""
    return f"{mark} {escape(item.text)} — {mention(item.owner)}, due {item.due}{late}"


def draft_message(doc: Document, timezone: str, today: date) -> tuple[str, list[Block]]:
    """The postmortem as a message: every section, the timeline, the items, and its buttons."""
    draft = doc.draft
    status = ":pencil2: Draft" if doc.status == "draft" else ":white_check_mark: Final"
    when = f"{draft.start_words} {stamp(draft.started, timezone)}"
    if draft.no_bad_signal:
        when = f"no bad signal ({escape(draft.no_bad_signal)}); {when}"
    blocks: list[Block] = [
        header(f"Postmortem: {draft.title}"),
        context(
            f"{status} · *{escape(doc.severity)}* ({escape(draft.severity_because)}) · "
            f"duration {span(draft.duration)} · {when}"
        ),
    ]
    for name in SECTIONS:
        text = doc.sections.get(name, "").strip() or "_empty_"
        if name in doc.edited:  # as the person typed it
            blocks.append(section(f"*{SECTION_TITLES[name]}*\n{escape(text)}"))
        else:  # opsbot's words: the people they name are mentions
            said = escape_but_mentions(text)
            blocks.append(section(f"*{SECTION_TITLES[name]}* _(prefilled)_\n{said}"))
    blocks += timeline_blocks(doc)
    items = [_item_line(i, today) for i in doc.items]
    blocks.append(
        section(
            "*Action Items*\n" + ("\n".join(items) if items else "_none yet: add them with Edit_")
        )
    )
    for item in doc.items:
        if item.state == "open":
            done = button("Done", ActionId.ACTION_ITEM_DONE, ActionItemRef(item=item.id).encode())
            blocks.append(section(clip(escape(item.text), 200), accessory=done))
    if doc.postmortem_id is not None:
        ref = PostmortemRef(postmortem=doc.postmortem_id).encode()
        final = "Reopen as draft" if doc.status == "final" else "Mark final"
        status = PostmortemStatus(
            postmortem=doc.postmortem_id,
            version=doc.version or 1,
            to="draft" if doc.status == "final" else "final",
        ).encode()
        blocks += [
            DividerBlock(),
            ActionsBlock(
                elements=[
                    button("Edit", ActionId.POSTMORTEM_EDIT, ref, style="primary"),
                    button("Markdown file", ActionId.POSTMORTEM_EXPORT, ref),
                    button(final, ActionId.POSTMORTEM_FINAL, status),
                ]
            ),
        ]
    text = f"Postmortem ({doc.status}): {draft.title} — {doc.severity}"
    return text, within_limits(blocks, "action items")


def _text_input(
    block: str, label: str, initial: str, *, multiline: bool = True, optional: bool = True
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block,
        "multiline": multiline,
        "max_length": MODAL_TEXT,
    }
    if initial:
        element["initial_value"] = initial[:MODAL_TEXT]
    return {
        "type": "input",
        "block_id": block,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def _option(text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": text}


def _said(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(escape(text), 3000)}}


def status_modal(callback_id: str, title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: "Loading…", "Saving…", the outcome, or why not."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [_said(text)],
    }


@dataclass(frozen=True)
class EditValues:
    """What the edit form shows: the postmortem as stored, or what the person typed in it."""

    severity: str
    sections: dict[str, str]
    item_text: str = ""
    item_owner: str | None = None
    item_due: date | None = None

    @classmethod
    def of(cls, doc: Document) -> EditValues:
        return cls(doc.severity, {name: doc.sections.get(name, "") for name in SECTIONS})


def severity_hint(doc: Document) -> str:
    return f"opsbot proposed {doc.draft.severity}: {doc.draft.severity_because}"


def _severity_input(values: EditValues, severities: list[str], hint: str) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": "severity",
        "label": {"type": "plain_text", "text": "Severity"},
        "element": {
            "type": "static_select",
            "action_id": "severity",
            "options": [_option(s) for s in severities],
            "initial_option": _option(
                values.severity if values.severity in severities else severities[-1]
            ),
        },
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": clip(hint, 150)}
    return block


def _item_inputs(values: EditValues) -> list[dict[str, Any]]:
    owner: dict[str, Any] = {"type": "users_select", "action_id": "item_owner"}
    if values.item_owner:
        owner["initial_user"] = values.item_owner
    due: dict[str, Any] = {"type": "datepicker", "action_id": "item_due"}
    if values.item_due is not None:
        due["initial_date"] = values.item_due.isoformat()
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "New action item (optional)"}},
        _text_input("item_text", "What", values.item_text, multiline=False),
        {
            "type": "input",
            "block_id": "item_owner",
            "optional": True,
            "label": {"type": "plain_text", "text": "Owner"},
            "element": owner,
        },
        {
            "type": "input",
            "block_id": "item_due",
            "optional": True,
            "label": {"type": "plain_text", "text": "Due"},
            "element": due,
        },
    ]


def edit_modal(
    values: EditValues,
    severities: list[str],
    metadata: str,
    *,
    hint: str = "",
    warning: str = "",
) -> dict[str, Any]:
    """Sections and severity; one new action item (text, owner, due date) per save.

    `metadata`: the postmortem's id and version and the channel it was opened in (which the
    access check reads on submission); `warning`: why the form is shown again, above it.
    """
    blocks: list[dict[str, Any]] = [_said(warning)] if warning else []
    blocks.append(_severity_input(values, severities, hint))
    blocks += [
        _text_input(name, SECTION_TITLES[name], values.sections.get(name, "")) for name in SECTIONS
    ]
    blocks += _item_inputs(values)
    return {
        "type": "modal",
        "callback_id": EDIT_MODAL,
        "title": {"type": "plain_text", "text": EDIT_TITLE},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": blocks,
    }


NO_DRAFTS = (
    "No postmortem is being written. Start one with `/postmortem rollout N`, "
    "`/postmortem YYYY-MM-DD` or `/postmortem last`."
)


def timeline_modal(
    drafts: list[PostmortemView], text: str, metadata: str, *, warning: str = ""
) -> dict[str, Any]:
    """Pick the postmortem a message joins (its text shown); none open: say how to start one.

    `metadata`: the message (channel, ts, author, text); `warning`: why it is shown again.
    """
    quoted = clip(" ".join(text.split()) or "(no text)", 300)
    if not drafts:
        said = f"{warning}\n{NO_DRAFTS}" if warning else NO_DRAFTS
        return status_modal(TIMELINE_MODAL, TIMELINE_TITLE, said)
    options = [
        {
            "text": {
                "type": "plain_text",
                "text": clip(f"{d.title}, started {d.created_at:%m-%d}", 75),
            },
            "value": str(d.id),
        }
        for d in drafts[:100]
    ]
    blocks: list[dict[str, Any]] = [_said(warning)] if warning else []
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"> {escape(quoted)}"}},
        {
            "type": "input",
            "block_id": "postmortem",
            "label": {"type": "plain_text", "text": "Postmortem"},
            "element": {
                "type": "static_select",
                "action_id": "postmortem",
                "options": options,
                "initial_option": options[0],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": TIMELINE_MODAL,
        "title": {"type": "plain_text", "text": TIMELINE_TITLE},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": blocks,
    }


def draft_reminder(stored: PostmortemView, due_at: datetime, timezone: str) -> str:
    left = due_at - stored.created_at
    return (
        f":hourglass: {mention(stored.created_by)}, the postmortem *{escape(stored.title)}* is "
        f"still a draft; it is due by {stamp(due_at, timezone)} ({int(left.total_seconds() // 3600)} h "
        "after it was started). Finish it with Edit, then Mark final."
    )


def item_reminder(item: ActionItemView, which: str, stored: PostmortemView | None) -> str:
    of = f" (postmortem: {escape(stored.title)})" if stored is not None else ""
    when = "is due today" if which == "due" else f"was due {item.due} and is overdue"
    return f":alarm_clock: Your action item “{escape(item.text)}”{of} {when}. Press Done on the postmortem when it is."


def drafting_text(words: str) -> str:
    """Said at once after Start postmortem: the incident as people name it (model.subject_words)."""
    return f"Drafting the postmortem of {words}…"


def started_text(created: bool, title: str, link: str | None, channel: str) -> str:
    """Where the postmortem is: its title as a link to its message (Slack's permalink, which
    opens it), never a raw address or opsbot's key for the incident."""
    said = "Started" if created else "Already started"
    named = f"the postmortem “{escape(title)}”"
    if link:
        return f"{said}: <{link}|{named.replace('|', '¦')}>."
    return f"{said}: {named} is in <#{channel}>."


def no_incident_text(words: str, why: str) -> str:
    """Nothing to draft: which incident was asked for and why it is none."""
    return f"No incident found for {words}: {why}."


def file_name(doc: Document) -> str:
    """The Markdown file's name: the incident as people know it (a hand rollback by its service
    and day, not the audit entry's id)."""
    draft = doc.draft
    kind, _, key = draft.subject.partition(":")
    if kind == "rollback":
        when = draft.recovered or draft.started
        key = f"{'-'.join(draft.services) or 'service'}-{when:%Y-%m-%d}"
    return f"postmortem-{re.sub(r'[^A-Za-z0-9._-]+', '-', f'{kind}-{key}')}.md"
