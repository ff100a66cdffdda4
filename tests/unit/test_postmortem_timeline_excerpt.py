"""A postmortem's timeline too long for its Slack message keeps what on-call needs: every event a
person added, the first bad signal, the recovery and the newest events; it says how many were
left out and where the whole timeline is (the Markdown file, `opsbot postmortem`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from bot.views.kit import MAX_TEXT
from bot.views.postmortem import draft_message
from commands.postmortem.model import Document, Draft, TimelineEvent
from commands.postmortem.render import markdown
from store.postmortem_views import AddedEvent, PostmortemView

T0 = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)  # the first bad signal
RECOVERED = T0 + timedelta(minutes=70)
LINK = "https://example.slack.com/archives/C0DEPLOY01/p1770315245000100"
ANALYSIS = (
    "analysis fail: canary 412 requests, 49 5xx, p95 870 ms; stable 3,702 requests, 3 5xx "
    "(5xx 11.9% over 5%; 5xx 14.6x stable's)"
)


def _event(minutes: int, text: str, source: str = "opsbot") -> TimelineEvent:
    return TimelineEvent(T0 + timedelta(minutes=minutes), source, text)


def _draft(timeline: list[TimelineEvent]) -> Draft:
    return Draft(
        kind="rollout",
        subject="rollout:4",
        title="Rollout #4 of nba-scrapers (48fa9219) rolled back",
        started=T0,
        recovered=RECOVERED,
        severity="SEV3",
        severity_because="the canary took 50% of traffic",
        impact=["the canary took up to 50% of traffic"],
        timeline=timeline,
        sections={"summary": "s", "root_cause": "", "resolution": "", "prevention": ""},
        services=["nba-scrapers"],
    )


def _stored(draft: Draft, *added: AddedEvent) -> PostmortemView:
    return PostmortemView(
        id=17,
        subject=draft.subject,
        kind=draft.kind,
        title=draft.title,
        severity=draft.severity,
        status="draft",
        document=draft.to_json(),
        sections={},
        incident_start=draft.started,
        incident_end=draft.recovered,
        created_by="U0DANAONCL",
        created_at=RECOVERED,
        updated_at=RECOVERED,
        slack_channel="C0DEPLOY01",
        slack_ts="1.2",
        version=1,
        events=added,
    )


def _long_incident() -> list[TimelineEvent]:
    """Before it, the deploy; from T0 an analysis a minute (60 of them, far past one message),
    the recovery at 70 min, and what happened after it (the newest: the revert)."""
    return [
        _event(-12, "deploy of nba-scrapers at 48fa9219 asked (checklist)"),
        _event(-10, "canary started"),
        *(_event(m, f"{ANALYSIS} #{m}") for m in range(60)),
        _event(70, "100% of traffic back on the stable revision (verified)"),
        _event(75, "nba-scrapers traffic: nba-scrapers-00041-abc 100%", "cloud-run"),
        _event(90, "commit 9e1f2a3b by dana: Revert odds normaliser change", "git"),
    ]


def _timeline(doc: Document) -> tuple[str, str]:
    """The timeline's title and its events' section, as Slack receives them."""
    _, blocks = draft_message(doc, "America/Los_Angeles", date(2026, 2, 5))
    texts = [b.to_dict().get("text", {}).get("text", "") for b in blocks]
    at = next(i for i, t in enumerate(texts) if t.startswith("*Timeline*"))
    return texts[at], texts[at + 1]


def _left_out(text: str) -> int:
    return sum(int(n) for n in re.findall(r"_… (\d+) events? left out_", text))


def test_a_long_timeline_keeps_added_events_first_bad_signal_recovery_and_newest() -> None:
    said = AddedEvent(
        1,
        T0 + timedelta(minutes=40),
        "U0LEEAPPRV",
        "odds API 500s for every bookmaker",
        LINK,
        "U0X",
    )
    doc = Document.of(_stored(_draft(_long_incident()), said))
    title, shown = _timeline(doc)

    assert len(shown) <= MAX_TEXT
    assert (
        f"`02-05 18:40Z` slack: odds API 500s for every bookmaker (<{LINK}|the message>)" in shown
    )
    assert f"`02-05 18:00Z` opsbot: {ANALYSIS} #0" in shown  # the first bad signal
    assert "`02-05 19:10Z` opsbot: 100% of traffic back on the stable revision" in shown
    assert shown.endswith("git: commit 9e1f2a3b by dana: Revert odds normaliser change")
    kept = shown.count("\n") + 1 - shown.count("left out_")
    total = len(doc.timeline)  # 66: the draft's 65 and the one lee added
    assert kept + _left_out(shown) == total
    assert f"({kept} of {total} events shown, UTC" in title
    assert f"{total - kept} left out" in title
    assert "*Markdown file* button below and `opsbot postmortem --rollout 4`" in title
    whole = markdown(doc, "America/Los_Angeles", date(2026, 2, 5))  # and it has them all
    assert all(f"#{m}" in whole for m in range(60))


def test_when_even_what_people_added_overflows_its_newest_are_kept_and_the_rest_counted() -> None:
    added = [
        AddedEvent(n, T0 + timedelta(minutes=n), "U0LEEAPPRV", f"note {n}: " + "x" * 250, None, "U")
        for n in range(1, 31)
    ]
    doc = Document.of(_stored(_draft(_long_incident()), *added))
    title, shown = _timeline(doc)

    assert len(shown) <= MAX_TEXT
    assert "note 30: " in shown and "note 1: " not in shown  # the newest people's notes
    assert f"{ANALYSIS} #0" in shown and "100% of traffic back" in shown
    kept = shown.count("\n") + 1 - shown.count("left out_")
    assert kept + _left_out(shown) == len(doc.timeline) == 95
    assert f"({kept} of 95 events shown" in title


def test_an_event_too_long_for_the_message_is_clipped_there_and_whole_in_the_file() -> None:
    long_line = "KeyError: 'bookmaker_id' " + "y" * 5000
    doc = Document.of(_stored(_draft([_event(0, long_line)])))
    title, shown = _timeline(doc)
    assert title.startswith("*Timeline* (1 event, UTC;") and "left out" not in title
    assert "more characters)" in shown and len(shown) < 600
    assert long_line in markdown(doc, "UTC", date(2026, 2, 5))


def test_a_short_timeline_is_shown_whole() -> None:
    doc = Document.of(_stored(_draft(_long_incident()[:3])))
    title, shown = _timeline(doc)
    assert title == "*Timeline* (3 events, UTC; the Markdown file has both time zones)"
    assert shown.count("\n") == 2 and "left out" not in shown
