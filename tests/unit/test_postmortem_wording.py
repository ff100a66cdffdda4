"""What people read about a postmortem, as pure rules (issue 31, items 6, 7 and 8): names for
mentions outside Slack, no internal ids and no raw addresses, identical log lines said once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from bot.views.postmortem import (
    draft_message,
    drafting_text,
    file_name,
    no_incident_text,
    started_text,
    timeline_modal,
)
from commands.postmortem.build import Subject
from commands.postmortem.log_groups import group_lines
from commands.postmortem.model import Document, Draft, TimelineEvent
from commands.postmortem.people import named
from commands.postmortem.render import markdown
from store.postmortem_views import AddedEvent, PostmortemView

T0 = datetime(2026, 2, 5, 18, 14, 5, tzinfo=UTC)
LINK = "https://example.slack.com/archives/C0DEPLOY01/p1770315245000100"
ERROR = "KeyError: 'bookmaker_id' in scrapers/odds_api/normalise.py:88"


@dataclass(frozen=True)
class Line:
    at: datetime
    severity: str
    text: str


def test_the_same_error_line_seven_times_is_one_group_with_its_count_and_times() -> None:
    """Item 8: the canary's one ERROR line, 7 times, is said once."""
    lines = [Line(T0 + timedelta(seconds=35 * n), "ERROR", ERROR) for n in range(7)]
    lines.insert(3, Line(T0 + timedelta(seconds=50), "ERROR", "TimeoutError: odds api"))

    groups = group_lines(reversed(lines))  # Cloud Logging may page newest first

    assert [(g.text, g.count) for g in groups] == [(ERROR, 7), ("TimeoutError: odds api", 1)]
    assert groups[0].said() == f"ERROR, 7 times from 18:14:05 to 18:17:35 UTC: {ERROR}"
    assert groups[1].said() == "ERROR: TimeoutError: odds api"
    assert groups[0].said(more=True) == f"ERROR, at least 7 times from 18:14:05 UTC: {ERROR}"


def test_a_line_differing_only_in_spacing_is_the_same_line() -> None:
    lines = [Line(T0, "ERROR", ERROR), Line(T0, "ERROR", f"  {ERROR}\n")]
    assert [g.count for g in group_lines(lines)] == [2]


def test_mentions_read_as_names_outside_slack() -> None:
    """Item 6: `<@U0LEEAPPRV>` is `@lee` with a name, `@U0LEEAPPRV` without; never markup."""
    text = "rolled back by <@U0LEEAPPRV>, then <@U0SAMDEPLY|sam> and <@W0ENTERPRISE>"
    assert named(text, {"U0LEEAPPRV": "lee"}) == "rolled back by @lee, then @sam and @W0ENTERPRISE"
    assert named("<!channel> <#C0DEPLOY01>", {}) == "<!channel> <#C0DEPLOY01>"  # not a person


def _draft(**changed: object) -> Draft:
    draft = Draft(
        kind="rollout",
        subject="rollout:4",
        title="Rollout #4 of nba-scrapers (48fa9219) rolled back",
        started=T0,
        recovered=T0 + timedelta(minutes=4),
        severity="SEV4",
        severity_because="no severity rule matched: the profile's default",
        impact=["the canary took up to 10% of traffic"],
        timeline=[
            TimelineEvent(T0, "opsbot", "rolled back by hand", "U0LEEAPPRV"),
        ],
        sections={
            "summary": "Rollout #4 …; <@U0LEEAPPRV> rolled it back by hand.",
            "root_cause": "",
            "resolution": "",
            "prevention": "",
        },
        services=["nba-scrapers"],
    )
    return replace(draft, **changed)  # type: ignore[arg-type]


def test_markdown_names_people_and_shows_no_internal_key() -> None:
    """Items 6 and 7: the file names lee (Summary, Timeline) and the incident as `rollout #4`."""
    text = markdown(Document.unsaved(_draft()), "UTC", date(2026, 2, 5), {"U0LEEAPPRV": "lee"})
    assert "@lee rolled it back by hand" in text and "· by @lee · rolled back by hand" in text
    assert "U0LEEAPPRV" not in text and "&lt;@" not in text
    assert "_Draft · rollout #4_" in text and "rollout:4" not in text


def test_what_the_person_is_told_names_the_incident_as_people_do_and_links_its_message() -> None:
    """Item 7: "Drafting the postmortem of rollout:4…" and "Already started: … https://…" no
    more: the rollout's number as its message says it, the postmortem's title as the link."""
    assert drafting_text(Subject.of("rollout:4").words) == "Drafting the postmortem of rollout #4…"
    assert Subject.of("date:2026-01-28").words == "game day 2026-01-28"
    assert Subject.of("rollback:345").words == "a hand rollback"  # not the audit entry's id
    title = "Rollout #4 of nba-scrapers (48fa9219) rolled back"
    assert started_text(False, title, LINK, "C0DEPLOY01") == (
        f"Already started: <{LINK}|the postmortem “{title}”>."
    )
    assert started_text(True, title, None, "C0DEPLOY01") == (
        f"Started: the postmortem “{title}” is in <#C0DEPLOY01>."
    )
    assert no_incident_text("rollout #999", "it is unknown") == (
        "No incident found for rollout #999: it is unknown."
    )


def test_a_hand_rollbacks_file_is_named_by_its_service_and_day() -> None:
    rollback = _draft(subject="rollback:345", kind="rollback")
    assert file_name(Document.unsaved(rollback)) == "postmortem-rollback-nba-scrapers-2026-02-05.md"
    assert file_name(Document.unsaved(_draft())) == "postmortem-rollout-4.md"


def _stored(*events: AddedEvent) -> PostmortemView:
    return PostmortemView(
        id=17,
        subject="rollout:4",
        kind="rollout",
        title="Rollout #4 of nba-scrapers (48fa9219) rolled back",
        severity="SEV4",
        status="draft",
        document=_draft().to_json(),
        sections={},
        incident_start=T0,
        incident_end=None,
        created_by="U0DANAONCL",
        created_at=T0,
        updated_at=T0,
        slack_channel="C0DEPLOY01",
        slack_ts="1.2",
        version=1,
        events=events,
    )


def test_the_timeline_picker_shows_titles_not_store_ids() -> None:
    view = timeline_modal([_stored()], "the canary again", "{}")
    options = view["blocks"][1]["element"]["options"]
    assert [o["text"]["text"] for o in options] == [
        "Rollout #4 of nba-scrapers (48fa9219) rolled back, started 02-05"
    ]


def test_a_message_added_to_the_timeline_links_to_it_in_slack_not_as_an_address() -> None:
    added = AddedEvent(1, T0, "U0SAMDEPLY", "<@U0LEEAPPRV> the canary is failing", LINK, "U0X")
    _, blocks = draft_message(Document.of(_stored(added)), "UTC", date(2026, 2, 5))
    shown = str([b.to_dict() for b in blocks])
    assert f"slack: <@U0LEEAPPRV> the canary is failing (<{LINK}|the message>)" in shown
    assert shown.count("https://") == 1
