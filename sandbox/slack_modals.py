"""Modals in an emulated Slack workspace: trigger ids, open views and what a submission's answer does."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sandbox.slack_delivery import trigger_id
from sandbox.slack_objects import TRIGGER_LIFETIME_S, OpenView, SlackError, validate_view
from sandbox.slack_record import Recorder

# What a modal shows above its blocks when the app's answer to its submission is late or not a
# valid one; the modal stays open with what the person typed (Slack's client text, as bolt-js
# #1208 and deno-slack-sdk #325 report it: "an error banner along its top").
CONNECTION_TROUBLE = "We had some trouble connecting. Try again?"


class Modals(Recorder):
    """The modals people have open, and the trigger ids that open them (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, OpenView] = {}
        self.triggers: dict[str, tuple[str, float]] = {}  # trigger → (user, when issued)
        self.used_triggers: set[str] = set()
        self.monotonic = time.monotonic  # the triggers' clock (tests move it)
        self.trigger_lifetime_s = TRIGGER_LIFETIME_S
        self.view_errors: dict[str, str] = {}  # view id → the banner Slack shows in that modal
        self.field_errors: dict[str, dict[str, str]] = {}  # view id → block_id → its error
        self.view_revisions: dict[str, int] = {}  # view id → how many views.update it took

    def issue_trigger(self, user: str) -> str:
        """A trigger id for something `user` just did, stamped with `monotonic()` as it is sent to
        the app: good for one views.open/views.push within `trigger_lifetime_s` (3 s), as Slack's
        ("Triggers expire in three seconds", "may be used only once": api.slack.com/docs/triggers;
        the views.* methods answer `expired_trigger_id` and `exchanged_trigger_id`)."""
        trigger = trigger_id()
        with self._changed:
            self.triggers[trigger] = (user, self.monotonic())
        return trigger

    def trigger_user(self, trigger: Any) -> str:
        """Exchange a trigger id (views.open/push): its user, or Slack's error for it.

        The rule: a trigger issued at t is exchanged at any `monotonic()` up to and including
        t + 3 s; later it is `expired_trigger_id`. An unknown one is `invalid_trigger_id`; one
        already exchanged is `exchanged_trigger_id` (checked first: a used trigger stays used).
        """
        key = str(trigger or "")
        with self._changed:
            issued = self.triggers.get(key)
            if issued is None:
                raise SlackError("invalid_trigger_id")
            if key in self.used_triggers:
                raise SlackError("exchanged_trigger_id")
            user, at = issued
            if self.monotonic() - at > self.trigger_lifetime_s:
                raise SlackError("expired_trigger_id")
            self.used_triggers.add(key)
            return user

    def open_view(self, user: str, view: Any) -> OpenView:
        checked = validate_view(view)
        with self._changed:
            opened = OpenView(f"V{secrets.token_hex(5).upper()}", user, checked)
            self.views[opened.id] = opened
            self._bump()
            return opened

    def update_view(self, view_id: Any, view: Any) -> OpenView:
        checked = validate_view(view)
        with self._changed:
            opened = self.views.get(str(view_id))
            if opened is None:
                raise SlackError("not_found")
            if opened.stack:
                opened.stack[-1] = checked
            else:
                opened.view = checked
            self.view_errors.pop(opened.id, None)
            self.field_errors.pop(opened.id, None)
            self.view_revisions[opened.id] = self.view_revisions.get(opened.id, 0) + 1
            self._bump()
            return opened

    def push_view(self, user: str, view: Any) -> OpenView:
        checked = validate_view(view)
        with self._changed:
            opened = next((v for v in self.views.values() if v.user == user), None)
            if opened is None:
                raise SlackError("not_found", "no open view to push onto")
            opened.stack.append(checked)
            self._bump()
            return opened

    def close_view(self, view_id: str) -> None:
        with self._changed:
            opened = self.views.get(view_id)
            if opened is not None and opened.stack:
                opened.stack.pop()
            else:
                self.views.pop(view_id, None)
            self.view_errors.pop(view_id, None)
            self.field_errors.pop(view_id, None)
            if view_id not in self.views:
                self.view_revisions.pop(view_id, None)
            self._bump()

    def submission_answered(
        self, view_id: str, answer: dict[str, Any] | None, revision: int | None = None
    ) -> None:
        """What Slack does with the app's answer to a view submission (`None`: a late or failed
        answer, so the modal stays open with Slack's banner). Empty: the modal closes;
        `response_action` `errors` (under their blocks), `update`, `push` or `clear`.

        `revision`: the view's `view_revisions` when the submission was sent. Slack applies an
        answer as it arrives, before any views.update the app makes after answering; here the
        answer is applied once the HTTP call returns, so a views.update the app made after its
        ack may already be in: an `update` answer then does not overwrite it."""
        with self._changed:
            opened = self.views.get(view_id)
            if opened is None:
                return
            overtaken = revision is not None and self.view_revisions.get(view_id, 0) != revision
            self.view_errors.pop(view_id, None)
            self.field_errors.pop(view_id, None)
            if answer is None:
                self.view_errors[view_id] = CONNECTION_TROUBLE
                self._bump()
                return
            action = answer.get("response_action")
            if action == "errors" and isinstance(answer.get("errors"), dict):
                self.field_errors[view_id] = {str(k): str(v) for k, v in answer["errors"].items()}
            elif action in ("update", "push"):
                try:
                    checked = validate_view(answer.get("view"))
                except SlackError as exc:  # Slack refuses it as it would a views.update
                    self.rejections.append((f"view_submission response_action={action}", exc.error))
                    self.view_errors[view_id] = CONNECTION_TROUBLE
                    self._bump()
                    return
                if action == "push":
                    opened.stack.append(checked)
                elif overtaken:
                    pass  # the app's own views.update, made after this answer, stays
                elif opened.stack:
                    opened.stack[-1] = checked
                else:
                    opened.view = checked
            elif action == "clear":
                self.views.pop(view_id, None)
            elif opened.stack:
                opened.stack.pop()  # an empty answer closes the view submitted: the one on top
            else:
                self.views.pop(view_id, None)
            self._bump()

    def clear(self) -> None:
        """Close every modal (between tests), and forget the record."""
        with self._changed:
            self.views.clear()
            self.view_errors.clear()
            self.field_errors.clear()
            self.view_revisions.clear()
            super().clear()
