"""The pure rules of postmortems: what a request names, the proposed severity, the Markdown."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.listeners.postmortem import parse_edit
from bot.views.kit import mention
from bot.views.postmortem import draft_message, draft_reminder
from commands.errors import RequestError
from commands.postmortem.build import Subject, parse_request
from commands.postmortem.model import HEADINGS, Document, Draft, TimelineEvent
from commands.postmortem.render import markdown, span
from commands.postmortem.severity import Facts, propose
from config import PostmortemConfig, SeverityRule
from store.postmortem_views import ActionItemView, AddedEvent, PostmortemView

CONFIG = PostmortemConfig()
T0 = datetime(2026, 2, 5, 17, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("rollout 12", Subject("rollout", "12")),
        ("rollout #7", Subject("rollout", "7")),
        ("2026-01-28", Subject("date", "2026-01-28")),
        ("last", None),
    ],
)
def test_a_request_names_one_incident(text: str, subject: Subject | None) -> None:
    assert parse_request(text) == subject


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "expected rollout N | YYYY-MM-DD | last"),
        ("rollout x", "bad rollout 'x'"),
        ("2026-02-30", "bad date '2026-02-30'"),
        ("yesterday", "got 'yesterday'"),
        ("rollout 1 2", "got 'rollout 1 2'"),
    ],
)
def test_a_bad_request_says_what_is_expected(text: str, said: str) -> None:
    with pytest.raises(RequestError, match=re.escape(said)):
        parse_request(text)


def test_a_button_value_round_trips_its_subject_and_refuses_others() -> None:
    for text in ("rollout:12", "rollback:345", "date:2026-01-28"):
        assert Subject.of(text).text == text
    with pytest.raises(RequestError):
        Subject.of("rollout:abc")


@pytest.mark.parametrize(
    ("facts", "severity"),
    [
        (Facts("data", 8 * 24.0, worst_status="CRITICAL", days=7), "SEV1"),  # days of CRITICAL
        (Facts("data", 24.0, worst_status="CRITICAL", days=1), "SEV2"),
        (Facts("data", 48.0, worst_status="WARN", days=2), "SEV3"),
        (Facts("rollout", 0.2, top_traffic_percent=50), "SEV2"),  # half the traffic
        (Facts("rollout", 2.0, top_traffic_percent=10), "SEV3"),  # an hour or more on users
        (Facts("rollout", 0.2, top_traffic_percent=10), "SEV4"),  # caught at the first step
        (Facts("rollback", None, top_traffic_percent=100), "SEV2"),
    ],
)
def test_severity_follows_the_profile_rules_first_match_wins(facts: Facts, severity: str) -> None:
    assert propose(CONFIG, facts)[0] == severity


def test_a_profile_can_state_its_own_rules_and_unknown_severities_are_refused() -> None:
    strict = PostmortemConfig(
        severities=["P1", "P2"],
        default_severity="P2",
        rules=[SeverityRule(severity="P1", because="any rollback", kind="rollback")],
    )
    assert propose(strict, Facts("rollback", 0.1)) == ("P1", "any rollback")
    assert propose(strict, Facts("rollout", 0.1))[0] == "P2"
    with pytest.raises(ValueError, match=re.escape("SEV9 is not in postmortem.severities")):
        PostmortemConfig(default_severity="SEV9")


def test_durations_read_as_people_say_them() -> None:
    assert span(timedelta(seconds=31)) == "31 s"
    assert span(timedelta(minutes=12)) == "12 min"
    assert span(timedelta(hours=3, minutes=5)) == "3 h 05 min"
    assert span(timedelta(days=8, hours=2)) == "8 days 2 h"
    assert span(None).startswith("ongoing")


def _draft() -> Draft:
    return Draft(
        kind="rollout",
        subject="rollout:3",
        title="Rollout #3 of nba-scrapers (48fa9219) rolled back",
        started=T0,
        recovered=T0 + timedelta(minutes=12),
        severity="SEV4",
        severity_because="no severity rule matched: the profile's default",
        impact=["the canary took up to 10% of traffic"],
        timeline=[
            TimelineEvent(T0, "opsbot", "analysis fail"),
            TimelineEvent(T0 + timedelta(minutes=12), "opsbot", "automatic rollback"),
        ],
        sections={"summary": "draft summary", "root_cause": "", "resolution": "", "prevention": ""},
    )


def test_markdown_keeps_the_team_headings_order_both_time_zones_and_what_people_wrote() -> None:
    stored = PostmortemView(
        id=1,
        subject="rollout:3",
        kind="rollout",
        title="t",
        severity="SEV3",
        status="draft",
        document=_draft().to_json(),
        sections={"summary": "Written by a person."},
        incident_start=T0,
        incident_end=None,
        created_by="U0DANAONCL",
        created_at=T0,
        updated_at=T0,
        slack_channel=None,
        slack_ts=None,
        version=2,
        events=(AddedEvent(1, T0 + timedelta(minutes=5), "U0LEEAPPRV", "looks odd", None, "U0X"),),
        items=(ActionItemView(1, 1, "Add a test", "U0SAMDEPLY", date(2026, 2, 1), "open", ""),),
    )
    text = markdown(Document.of(stored), "America/Los_Angeles", date(2026, 2, 5))
    positions = [text.index(f"\n## {heading}\n") for heading in HEADINGS]
    assert positions == sorted(positions)
    assert "Written by a person." in text and "draft summary" not in text
    assert "SEV3 (opsbot proposed SEV4" in text
    assert "- 2026-02-05 17:45:00 UTC (Thu 09:45 PST) · slack · by @U0LEEAPPRV · looks odd" in text
    lines = text.splitlines()
    added = lines.index(next(line for line in lines if "looks odd" in line))
    assert "analysis fail" in lines[added - 1] and "automatic rollback" in lines[added + 1]
    assert "- [ ] Add a test — owner @U0SAMDEPLY, due 2026-02-01 (overdue)" in text
    assert "12 min (from the first bad signal to recovery)" in text


def test_a_draft_survives_the_store_as_json() -> None:
    draft = _draft()
    assert Draft.from_json(draft.to_json()) == draft


def _form(**fields: Any) -> dict[str, Any]:
    return {name: {name: value} for name, value in fields.items()}


def test_the_edit_form_keeps_what_changed_and_refuses_what_cannot_be_saved() -> None:
    doc = Document.unsaved(_draft())
    today = date(2026, 2, 5)
    severities = CONFIG.severities
    same = {"value": doc.sections["summary"]}
    severity, changed, item = parse_edit(
        _form(
            severity={"selected_option": {"value": "SEV2"}},
            summary=same,
            prevention={"value": "A test for the missing bookmaker."},
        ),
        doc,
        today,
        severities,
    )
    assert (severity, changed, item) == (
        "SEV2",
        {"prevention": "A test for the missing bookmaker."},
        None,
    )
    for form, field in (
        (_form(severity={"selected_option": {"value": "SEV9"}}), "severity"),  # not a button's
        (_form(item_text={"value": "a test"}), "item_owner"),  # the first missing field
        (
            _form(
                item_text={"value": "a test"},
                item_owner={"selected_user": "U0SAMDEPLY"},
                item_due={"selected_date": "2026-02-04"},
            ),
            "item_due",  # in the past
        ),
    ):
        with pytest.raises(RequestError, match=f"^{field}: "):
            parse_edit(form, doc, today, severities)


FORGED = "U0SAMDEPLY> <!channel"


@pytest.mark.parametrize("user_id", ["U0SAMDEPLY", "W0ENTERPRISE", "USLACKBOT", "U12"])
def test_a_user_id_becomes_a_mention(user_id: str) -> None:
    assert mention(user_id) == f"<@{user_id}>"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (FORGED, "U0SAMDEPLY&gt; &lt;!channel"),
        ("U0SAMDEPLY|everyone", "U0SAMDEPLY|everyone"),
        ("C0ORCHESTR", "C0ORCHESTR"),  # a channel, not a person
        ("B0OPSBOT", "B0OPSBOT"),
        ("u0samdeply", "u0samdeply"),
        ("U0SAMDEPLY\n", "U0SAMDEPLY\n"),
        ("U1", "U1"),
        ("U" + "1" * 21, "U" + "1" * 21),
        ("", ""),
    ],
)
def test_anything_else_is_shown_as_the_text_it_is_and_mentions_nobody(
    given: str, shown: str
) -> None:
    assert mention(given) == shown and "<@" not in mention(given) and "<!" not in mention(given)


def _with_items(*owners: str, created_by: str = "U0DANAONCL") -> PostmortemView:
    items = tuple(
        ActionItemView(n, 1, f"item {n}", owner, date(2026, 2, 10), "open", "")
        for n, owner in enumerate(owners, start=1)
    )
    return PostmortemView(
        id=1,
        subject="rollout:3",
        kind="rollout",
        title="t",
        severity="SEV3",
        status="draft",
        document=_draft().to_json(),
        sections={},
        incident_start=T0,
        incident_end=None,
        created_by=created_by,
        created_at=T0,
        updated_at=T0,
        slack_channel="C0ORCHESTR",
        slack_ts="1.2",
        version=1,
        items=items,
    )


def test_a_stored_owner_that_is_not_a_user_id_is_shown_as_text_in_the_postmortem() -> None:
    """An owner stored before the form checked it (or written around it): no live mention."""
    doc = Document.of(_with_items(FORGED, "U0LEEAPPRV"))
    _, blocks = draft_message(doc, "America/Los_Angeles", date(2026, 2, 5))
    shown = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "<!channel" not in shown and "<@U0SAMDEPLY" not in shown
    assert "item 1 — U0SAMDEPLY&gt; &lt;!channel, due 2026-02-10" in shown
    assert "item 2 — <@U0LEEAPPRV>, due 2026-02-10" in shown  # a person's id stays a mention


def test_a_draft_reminder_mentions_its_author_only_by_a_user_id() -> None:
    due = T0 + timedelta(hours=48)
    forged = draft_reminder(_with_items(created_by=FORGED), due, "UTC")
    assert forged.startswith(":hourglass: U0SAMDEPLY&gt; &lt;!channel, the postmortem")
    assert "<!" not in forged and "<@" not in forged
    real = draft_reminder(_with_items(), due, "UTC")
    assert real.startswith(":hourglass: <@U0DANAONCL>, the postmortem")


@pytest.mark.parametrize(
    "owner", [FORGED, "C0ORCHESTR", "B0OPSBOT", "U0SAMDEPLY|everyone", "u0samdeply", "U_0SAM"]
)
def test_an_owner_the_form_did_not_pick_from_its_people_is_refused_under_its_field(
    owner: str,
) -> None:
    doc = Document.unsaved(_draft())
    form = _form(
        item_text={"value": "a test"},
        item_owner={"selected_user": owner},
        item_due={"selected_date": "2026-02-12"},
    )
    with pytest.raises(RequestError, match=r"^item_owner: pick a person$"):
        parse_edit(form, doc, date(2026, 2, 5), CONFIG.severities)
    good = {**form, "item_owner": {"item_owner": {"selected_user": "U0SAMDEPLY"}}}
    assert parse_edit(good, doc, date(2026, 2, 5), CONFIG.severities)[2] == (
        "a test",
        "U0SAMDEPLY",
        date(2026, 2, 12),
    )
