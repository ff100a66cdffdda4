"""What must hold however the backfill soak faults the world (issue 30, "The soak").

1. Every date of every backfill is published at least once per attempt (its own correlation id
   on nba-grading-trigger, counted in the Pub/Sub emulator's records), more than once only when
   a replica was killed between two of its publications, and ends (done, failed, timed out or
   canceled) within its bound after the faults are lifted.
2. Every backfill has one message, showing its recorded end; or, with none, its starter was
   told in a direct message where to look.
3. No date is held by a backfill that nothing drives: a running backfill with dates queued or
   out is pumped (its `updated_at` moves) while a replica is up.
4. Every scheduled slot is posted exactly once or recorded as deliberately quiet (or named as
   missed by the run that caught up); every digest in Slack is one a run recorded; "already
   posted this minute" is said only of a manual post that exists.
5. A postmortem's version only goes forward, one step per accepted click: never more steps
   than distinct versions the clicks and saves were drawn on, one audit entry per step, and
   its message shows its recorded status.
6. No request was answered with "something went wrong", and no button the bot showed was
   refused where it showed it.

Each function takes plain data (store views, the Slack emulator's workspace, the emulator's
trigger records), so tests/chaos/test_backfill_soak.py feeds each a hand-made violation.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.chaos_invariants import WENT_WRONG, Violation, _text
from sandbox.slack_workspace import Message, Workspace
from store.backfill_views import IN_FLIGHT, BackfillView, DateState
from store.postmortem_views import PostmortemView
from store.schedule_views import OUTCOMES_DONE, OUTCOMES_POSTED, RunView

REFUSED = ":no_entry:"  # how the access check answers (bot/access.py)
KILL_SLACK_S = 1.0  # a kill this close before a date's first publication may have caused it


@dataclass(frozen=True)
class Trigger:
    """One message on nba-grading-trigger: its correlation id, date, and when (epoch s)."""

    correlation: str
    day: str
    at: float


@dataclass(frozen=True)
class JobWatch:
    """A scheduled job as the soak checks it: its title in messages, where it posts, its slots."""

    job: str
    title: str  # "Drift digest": every message of the job carries it
    channels: tuple[str, ...]  # channel ids
    slots: tuple[datetime, ...]  # the slots due while the soak ran (UTC)


@dataclass(frozen=True)
class PostNowAnswer:
    """What a Post now click was told, and the minutes its run may have been keyed by."""

    job: str
    minutes: tuple[datetime, ...]
    text: str


# -- 1 --------------------------------------------------------------------------------------------


def published_as_recorded(
    backfills: Iterable[BackfillView], triggers: Sequence[Trigger], kills: Sequence[float]
) -> list[Violation]:
    """1: each date published (not canceled) has a trigger; a second one only across a kill."""
    found: list[Violation] = []
    sent: defaultdict[str, list[float]] = defaultdict(list)
    for trigger in triggers:
        sent[trigger.correlation].append(trigger.at)
    for backfill in backfills:
        for day in backfill.dates:
            times = sorted(sent.get(day.correlation_id, []))
            where = f"backfill #{backfill.id} date {day.game_date} ({day.state.value})"
            if day.state is DateState.CANCELED:
                if times:
                    found.append(Violation(1, f"{where}: canceled, yet published {len(times)}x"))
                continue
            if day.state is DateState.QUEUED:
                continue  # not due yet (all_dates_ended says whether it should have been)
            if not times:
                found.append(Violation(1, f"{where}: recorded published, 0 triggers on Pub/Sub"))
            elif len(times) > 1 and not any(
                times[0] - KILL_SLACK_S <= k <= times[-1] for k in kills
            ):
                found.append(
                    Violation(1, f"{where}: published {len(times)}x and no replica was killed")
                )
    return found


def all_dates_ended(backfills: Iterable[BackfillView], bound_s: float) -> list[Violation]:
    """1: called once `bound_s` has passed since the faults were lifted: every date ended."""
    found = []
    for backfill in backfills:
        left = [d for d in backfill.dates if not d.state.ended]
        if left:
            shown = ", ".join(f"{d.game_date} {d.state.value}" for d in left)
            found.append(
                Violation(
                    1,
                    f"backfill #{backfill.id} ({backfill.state.value}) not ended {bound_s:.0f} s "
                    f"after the faults were lifted: {shown}",
                )
            )
        elif not backfill.ended:
            found.append(Violation(1, f"backfill #{backfill.id}: every date ended, yet running"))
    return found


# -- 2 --------------------------------------------------------------------------------------------


def backfill_messages(ws: Workspace, backfill_id: int) -> list[Message]:
    """The backfill's progress messages: the bot's, not ephemeral (in a channel, a thread, or
    its starter's direct messages when the channel refused it)."""
    marker = f"Regrade backfill #{backfill_id}:"
    return [m for m in ws.bot_messages() if m.ephemeral_to is None and m.text.startswith(marker)]


def told_in_dm(ws: Workspace, user: str, backfill_id: int) -> bool:
    """Whether the bot's direct messages with `user` name the backfill (where to look)."""
    dm = f"D{user[1:]}"
    return any(m.channel == dm and f"#{backfill_id}" in _text(m) for m in ws.bot_messages())


def one_message_each(ws: Workspace, backfills: Iterable[BackfillView]) -> list[Violation]:
    """2: one message showing the backfill's recorded end (its state and every date ended)."""
    found: list[Violation] = []
    for backfill in backfills:
        mine = backfill_messages(ws, backfill.id)
        total = len(backfill.dates)
        ended = sum(1 for d in backfill.dates if d.state.ended)
        if not mine:
            if not told_in_dm(ws, backfill.requested_by, backfill.id):
                found.append(
                    Violation(
                        2,
                        f"backfill #{backfill.id} ({backfill.state.value}) has no message and "
                        f"its starter {backfill.requested_by} was not told where to look",
                    )
                )
            continue
        if len(mine) > 1:
            shown = "; ".join(f"{m.channel} {m.ts}" for m in mine)
            found.append(Violation(2, f"backfill #{backfill.id} has {len(mine)} messages: {shown}"))
            continue
        message = mine[0]
        expected = f"{ended}/{total} ended ({backfill.state.value})"
        if expected not in message.text:
            found.append(
                Violation(
                    2, f"backfill #{backfill.id} is {expected}; its message: {message.text!r}"
                )
            )
        elif (backfill.slack_channel, backfill.slack_ts) != (message.channel, message.ts):
            found.append(
                Violation(
                    2,
                    f"backfill #{backfill.id}'s message {message.channel} {message.ts} is not "
                    f"the one recorded ({backfill.slack_channel} {backfill.slack_ts})",
                )
            )
    return found


# -- 3 --------------------------------------------------------------------------------------------


def dates_driven(
    backfills: Iterable[BackfillView], now: datetime, stale_s: float
) -> list[Violation]:
    """3: a running backfill holding dates was pumped within `stale_s` (called only while a
    replica has been up that long)."""
    found = []
    for backfill in backfills:
        held = [d.game_date for d in backfill.dates if d.state in IN_FLIGHT]
        if backfill.ended or not held:
            continue
        idle = (now - backfill.updated_at).total_seconds()
        if idle > stale_s:
            found.append(
                Violation(
                    3,
                    f"backfill #{backfill.id} holds {', '.join(held)} and nothing has driven it "
                    f"for {idle:.0f} s",
                )
            )
    return found


# -- 4 --------------------------------------------------------------------------------------------


def digests_in_slack(ws: Workspace, watch: JobWatch) -> list[Message]:
    return [
        m
        for m in ws.bot_messages()
        if m.channel in watch.channels
        and m.thread_ts is None
        and m.ephemeral_to is None
        and watch.title in m.text
    ]


def slots_posted_once(ws: Workspace, watch: JobWatch, runs: Sequence[RunView]) -> list[Violation]:
    """4: each slot ran to an end (posted, or quiet on purpose, or named missed by a later run);
    each posting run's messages exist; no digest in Slack that no run recorded."""
    found: list[Violation] = []
    job = watch.job
    scheduled = {r.fire_time: r for r in runs if not r.manual}
    caught_up = {m for r in runs if r.done for m in r.missed}
    for slot in watch.slots:
        run = scheduled.get(slot)
        if run is not None and run.done:
            continue
        if slot in caught_up:
            continue
        said = "never claimed" if run is None else f"left {run.outcome.value} by {run.claimed_by}"
        found.append(Violation(4, f"{job} slot {slot:%H:%M} never posted: {said}"))
    shown = {(m.channel, m.ts) for m in digests_in_slack(ws, watch)}
    recorded: Counter[tuple[str, str]] = Counter()
    for run in runs:
        if run.outcome in OUTCOMES_POSTED and not run.posted:
            found.append(Violation(4, f"{job} run {_run(run)} is {run.outcome.value}, no post"))
        for where in run.posted:
            recorded[where] += 1
            if where not in shown:
                found.append(Violation(4, f"{job} run {_run(run)} recorded {where}: not in Slack"))
    for where in sorted(shown - set(recorded)):
        found.append(Violation(4, f"{job} digest {where[0]} {where[1]} posted, no run recorded it"))
    return found


def post_now_said_truly(
    answers: Iterable[PostNowAnswer],
    runs_by_job: Mapping[str, Sequence[RunView]],
    ws: Workspace,
    watches: Mapping[str, JobWatch],
) -> list[Violation]:
    """4: "already posted this minute" only when a manual run of that job in that minute
    posted a message that is in Slack (or, its run killed before recording it, a digest of the
    job is in Slack from that minute)."""
    found = []
    shown = {(m.channel, m.ts) for m in ws.bot_messages()}
    for answer in answers:
        if "already posted" not in answer.text:
            continue
        manual = [
            r for r in runs_by_job.get(answer.job, []) if r.manual and r.fire_time in answer.minutes
        ]
        if any(r.outcome in OUTCOMES_POSTED and set(r.posted) & shown for r in manual):
            continue
        watch = watches.get(answer.job)
        first = min(answer.minutes).timestamp()
        last = max(answer.minutes).timestamp() + 60
        recorded = {p for runs in runs_by_job.values() for r in runs for p in r.posted}
        unrecorded = [
            m
            for m in (digests_in_slack(ws, watch) if watch else [])
            if (m.channel, m.ts) not in recorded and first <= float(m.ts) < last
        ]
        if not unrecorded:
            states = ", ".join(f"{_run(r)} {r.outcome.value}" for r in manual) or "no manual run"
            found.append(Violation(4, f"Post now of {answer.job} said {answer.text!r}; {states}"))
    return found


def _run(run: RunView) -> str:
    return f"{'manual ' if run.manual else ''}{run.fire_time:%H:%M}"


# -- 5 --------------------------------------------------------------------------------------------


def versions_forward(samples: Sequence[tuple[float, int]]) -> list[Violation]:
    """5: the versions seen over time (when, version) never go back."""
    found = []
    for (_, before), (_, after) in itertools.pairwise(samples):
        if after < before:
            found.append(Violation(5, f"postmortem version went back from v{before} to v{after}"))
    return found


def one_step_per_click(
    postmortem: PostmortemView, drawn: set[int], audited: int, ws: Workspace
) -> list[Violation]:
    """5: at most one step per distinct version a click or save was drawn on, one audit entry
    per step, and the message shows the recorded status."""
    found = []
    steps = postmortem.version - 1
    if steps > len(drawn):
        found.append(
            Violation(
                5,
                f"postmortem #{postmortem.id} took {steps} steps (v{postmortem.version}) from "
                f"clicks drawn on {len(drawn)} versions {sorted(drawn)}",
            )
        )
    if steps != audited:
        found.append(
            Violation(5, f"postmortem #{postmortem.id}: {steps} steps, {audited} audit entries")
        )
    if postmortem.slack_channel and postmortem.slack_ts:
        try:
            message = ws.find(postmortem.slack_channel, postmortem.slack_ts)
        except Exception:
            found.append(Violation(5, f"postmortem #{postmortem.id}: its message is gone"))
        else:
            if not message.text.startswith(f"Postmortem ({postmortem.status})"):
                found.append(
                    Violation(
                        5,
                        f"postmortem #{postmortem.id} is {postmortem.status} "
                        f"v{postmortem.version}; its message: {message.text[:80]!r}",
                    )
                )
    return found


# -- 6 --------------------------------------------------------------------------------------------


def nothing_went_wrong(ws: Workspace) -> list[Violation]:
    """6: no message, ephemeral or reply says something went wrong, and no button the bot
    showed is refused when pressed where it showed it (":no_entry:": the soak's people run
    commands only in the profile's channels and press only the bot's buttons)."""
    return [
        Violation(6, f"{m.channel}: {m.text[:160]!r}")
        for m in ws.messages
        if WENT_WRONG in _text(m).lower() or m.text.startswith(REFUSED)
    ]


def minutes_around(at: datetime) -> tuple[datetime, ...]:
    """The minute a click at `at` was keyed by, and the next (it may have reached the bot then)."""
    minute = at.replace(second=0, microsecond=0)
    return (minute, minute + timedelta(minutes=1))


__all__ = [
    "OUTCOMES_DONE",
    "JobWatch",
    "PostNowAnswer",
    "Trigger",
    "Violation",
    "all_dates_ended",
    "dates_driven",
    "minutes_around",
    "nothing_went_wrong",
    "one_message_each",
    "one_step_per_click",
    "post_now_said_truly",
    "published_as_recorded",
    "slots_posted_once",
    "versions_forward",
]
