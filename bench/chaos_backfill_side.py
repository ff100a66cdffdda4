"""The backfill soak's other subjects: scheduled digests (kills around their posts, Post now)
and a postmortem (Mark final and Edit, clicked once, twice, retried). bench/chaos_backfills.py
draws these steps among the backfills' own."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.chaos_backfill_invariants import (
    JobWatch,
    PostNowAnswer,
    Violation,
    one_step_per_click,
    post_now_said_truly,
    slots_posted_once,
    versions_forward,
)
from bench.chaos_backfill_people import (
    BackfillReplica,
    People,
    as_seen,
    button_value,
    has_button,
)
from bench.chaos_backfill_replica import CLAIM_LEASE_S, DRIFT_CRON, JOB_CHANNELS
from bot.actions import ActionId
from bot.views.postmortem import EDIT_MODAL
from commands.schedule import cron
from store.database import Database
from store.postmortems import Postmortems
from store.rollouts import Store
from store.schedule_runs import ScheduleRuns
from store.schedule_views import RunView, silence_s

POSTER, EDITOR = "U0SAMDEPLY", "U0LEEAPPRV"
POSTMORTEM_CHANNEL, POSTMORTEM_DAY = "#canary-alerts", "2026-01-28"
JOBS = {"drift-digest": ("Drift digest", "drift"), "health-digest": ("Health digest", "health")}
TIMEZONE = "America/Los_Angeles"  # the jobs' (cron "* * * * *" and "*/2 * * * *" alike)
SLOT_NEAR_S = 10.0  # a kill armed for a slot waits between two steps for a slot this close
SILENCE_S = silence_s(CLAIM_LEASE_S)  # the replicas' claims: unrenewed this long, dead
RUN_S = 15.0  # a digest run's own time: its checks and posts, with Slack's retries


def period_s(cron_line: str) -> float:
    """The time between two slots of a cron line that fires evenly (every minute: 60)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    first = cron.next_slot(cron_line, TIMEZONE, at)
    second = cron.next_slot(cron_line, TIMEZONE, first) if first else None
    assert first is not None and second is not None, cron_line
    return (second - first).total_seconds()


# After the last step: a dead claimer's silence, then until the next drift slot (which runs
# what the sweep has not retaken, or names it missed), and that run's own time
SCHEDULE_BOUND_S = SILENCE_S + period_s(DRIFT_CRON) + RUN_S
DRAFT_BOUND_S = 120.0  # /postmortem drafts from the audit log, Cloud Run, git and the checks


class SideJobs:
    def __init__(self, people: People, database: Database, clock: Callable[[], datetime]) -> None:
        self.people, self.clock = people, clock
        self.runs = ScheduleRuns(database, clock)
        self.postmortems = Postmortems(database, clock)
        self.audit = Store(database, clock)
        self.postmortem_id: int | None = None
        self.drawn: set[int] = set()  # the versions Mark final clicks and Edit saves were drawn on
        self.samples: list[tuple[float, int]] = []
        self.edits = 0
        self.started_at = clock()
        self.summary: list[str] = []  # what was checked, for the report
        self.armed: list[tuple[float, float]] = []  # slot kills to do: (pause, restart pause)
        self.slot_kills = 0  # armed kills done

    # -- schedules ---------------------------------------------------------------------------

    def kill_around_slot(self) -> None:
        """A step: the claimer of a coming slot killed as (or just after) it claims, around its
        post, and restarted. Armed now (its pauses drawn now); `kill_when_due` does it between
        two later steps as the slot comes: the people go on meanwhile, nobody waits a minute."""
        rng = self.people.rng
        self.armed.append((rng.uniform(0.0, 0.15), rng.uniform(0.0, 2.0)))

    def kill_when_due(self, near_s: float = SLOT_NEAR_S) -> None:
        """An armed slot kill, when a slot is due within `near_s`: waited for, then done."""
        if not self.armed:
            return
        now = self.clock()
        due = []
        for job, (cron_line, _) in JOB_CHANNELS.items():
            slot = cron.next_slot(cron_line, TIMEZONE, now)
            if slot is not None and (slot - now).total_seconds() <= near_s:
                due.append((slot, job))
        if not due:
            return
        slot, job = min(due)
        pause_s, restart_s = self.armed.pop(0)
        self.slot_kills += 1
        time.sleep(max(0.0, (slot - self.clock()).total_seconds()))  # at most `near_s`
        run = self._claimed(lambda: self.runs.slot(job, slot), 10.0)
        self._kill_claimer(run, f"kill of a {job} slot's claimer", pause_s, restart_s)

    def disarm(self) -> None:
        """After the last step: when no armed kill met a slot during the steps (a short run),
        one waits for the next slot (a minute at most); the others are dropped (counted)."""
        if self.armed and not self.slot_kills:
            self.kill_when_due(period_s(DRIFT_CRON))
        if self.armed:
            self.people.faults["slot kill armed after the last slot it could meet"] += len(
                self.armed
            )
        self.armed.clear()

    def post_now(self) -> None:
        """/digest <job>, then Post now: once, twice, retried, or its claimer killed."""
        job = self.people.rng.choice(list(JOBS))
        people, ws = self.people, self.people.world.slack.workspace
        after = len(ws.messages)
        people.command(POSTER, "#deployment-alerts", f"/digest {JOBS[job][1]}")
        listed = people.ephemeral(
            POSTER, after, lambda m: m.text.startswith("Scheduled digests: 1 job")
        )
        if listed is None or not has_button(listed, ActionId.DIGEST_POST_NOW):
            people.faults["/digest: no Post now shown"] += 1
            return
        people.faults["Post now"] += 1
        payload = people.world.slack.click_payload(POSTER, listed, ActionId.DIGEST_POST_NOW)
        how = people.how()
        killed = how == "kill_first"
        if killed and people.rng.random() < 0.5:  # killed as it posts, instead
            people.deliver(payload, "once")
            minute = self.clock().replace(second=0, microsecond=0)
            run = self._claimed(
                lambda: next(
                    (
                        r
                        for m in (minute, minute - timedelta(minutes=1))
                        if (r := self.runs.slot(job, m, manual=True)) is not None
                    ),
                    None,
                ),
                5.0,
            )
            self._kill_claimer(run, "kill of a Post now's claimer")
        else:
            people.deliver(payload, how)
        if killed:  # nothing came of it (or nothing said so): the person clicks it again
            people.faults["Post now clicked again after a kill"] += 1
            again = people.world.slack.click_payload(POSTER, listed, ActionId.DIGEST_POST_NOW)
            people.deliver(again, "once")

    def _claimed(self, found: Callable[[], RunView | None], within_s: float) -> RunView | None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            run = found()
            if run is not None:
                return run
            time.sleep(0.02)  # bounded by `within_s`
        return None

    def _kill_claimer(
        self,
        run: RunView | None,
        why: str,
        pause_s: float | None = None,
        restart_s: float | None = None,
    ) -> None:
        """The run's claimer killed `pause_s` after its claim was seen (drawn now if None),
        restarted `restart_s` later."""
        people = self.people
        if run is None:
            people.faults[f"{why}: nothing claimed in time"] += 1
            return
        time.sleep(people.rng.uniform(0.0, 0.15) if pause_s is None else pause_s)
        for replica in people.world.alive():
            if isinstance(replica, BackfillReplica) and replica.claims_as(run.claimed_by):
                people.kill_and_restart(replica, why, restart_s)
                return

    def check_schedules(self, until: datetime) -> list[Violation]:
        """4, once SCHEDULE_BOUND_S has passed after the last step (`until`)."""
        ws = self.people.world.slack.workspace
        found: list[Violation] = []
        runs_by_job: dict[str, list[RunView]] = {}
        watches: dict[str, JobWatch] = {}
        start = self.started_at + timedelta(seconds=15)  # the schedulers start with the replicas
        for job, (cron_line, channel) in JOB_CHANNELS.items():
            runs = self.runs.between(job, start - timedelta(minutes=5), until + timedelta(hours=1))
            runs_by_job[job] = runs
            channels = tuple(ws.channel(c).id for c in (channel, "#app-error-alerts"))
            slots = tuple(cron.slots(cron_line, TIMEZONE, start, until))
            watch = JobWatch(job, JOBS[job][0], channels, slots)
            watches[job] = watch
            found += slots_posted_once(ws, watch, runs)
            outcomes = Counter(f"{'manual ' if r.manual else ''}{r.outcome.value}" for r in runs)
            shown = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
            self.summary.append(f"{job}: {len(slots)} slots checked; runs: {shown or 'none'}")
        answers = []
        for message in ws.messages:
            if message.ephemeral_to == POSTER and "already posted" in message.text:
                job = message.text.split(":", 1)[0].strip()
                at = datetime.fromtimestamp(float(message.ts), tz=until.tzinfo)
                minute = at.replace(second=0, microsecond=0)
                minutes = (minute - timedelta(minutes=1), minute)
                answers.append(PostNowAnswer(job, minutes, message.text))
        return found + post_now_said_truly(answers, runs_by_job, ws, watches)

    # -- the postmortem ----------------------------------------------------------------------

    def open_postmortem(self) -> None:
        """/postmortem of a game day: a draft with Edit and Mark final, the subject of 5."""
        people = self.people
        people.command(EDITOR, POSTMORTEM_CHANNEL, f"/postmortem {POSTMORTEM_DAY}")
        deadline = time.monotonic() + DRAFT_BOUND_S
        while time.monotonic() < deadline:
            found = self.postmortems.by_subject(f"date:{POSTMORTEM_DAY}")
            if found is not None and found.slack_ts:
                self.postmortem_id = found.id
                self.sample()
                return
            time.sleep(0.5)  # bounded by the deadline
        people.faults["postmortem never drafted (its steps are skipped)"] += 1

    def _message(self) -> Any:
        if self.postmortem_id is None:
            return None
        found = self.postmortems.get(self.postmortem_id)
        if found is None or not found.slack_channel or not found.slack_ts:
            return None
        try:
            return as_seen(
                self.people.world.slack.workspace.find(found.slack_channel, found.slack_ts)
            )
        except Exception:
            return None

    def mark_final(self) -> None:
        """Mark final (or Reopen as draft) on the message as it is drawn now."""
        message, people = self._message(), self.people
        if message is None or not has_button(message, ActionId.POSTMORTEM_FINAL):
            return
        value = json.loads(button_value(message, ActionId.POSTMORTEM_FINAL) or "{}")
        self.drawn.add(int(value.get("version") or self._version()))
        people.faults["Mark final / Reopen"] += 1
        payload = people.world.slack.click_payload(EDITOR, message, ActionId.POSTMORTEM_FINAL)
        people.deliver(payload, people.how())

    def edit(self) -> None:
        """Edit, then Save a change to the summary (the save delivered as drawn)."""
        message, people = self._message(), self.people
        if message is None or not has_button(message, ActionId.POSTMORTEM_EDIT):
            return
        ws = people.world.slack.workspace
        before = set(ws.views)
        people.deliver(
            people.world.slack.click_payload(EDITOR, message, ActionId.POSTMORTEM_EDIT), "once"
        )
        form = people.new_view(
            EDITOR, before, EDIT_MODAL, lambda view: '"version"' in view.get("private_metadata", "")
        )
        if form is None:
            people.faults["Edit: no form opened"] += 1
            return
        shown = form.stack[-1] if form.stack else form.view
        self.drawn.add(int(json.loads(shown["private_metadata"])["version"]))
        self.edits += 1
        people.faults["Edit saved"] += 1
        text = f"chaos soak edit {self.edits}"
        values = {"summary": {"summary": {"type": "plain_text_input", "value": text}}}
        people.deliver(people.submission(EDITOR, form, values), people.how())

    def _version(self) -> int:
        found = self.postmortems.get(self.postmortem_id) if self.postmortem_id else None
        return found.version if found is not None else 0

    def sample(self) -> list[Violation]:
        """5 at every moment: the version seen now, after those seen before."""
        if self.postmortem_id is None:
            return []
        self.samples.append((time.time(), self._version()))
        return versions_forward(self.samples[-2:])

    def check_postmortem(self) -> list[Violation]:
        if self.postmortem_id is None:
            return []
        found = self.postmortems.get(self.postmortem_id)
        assert found is not None
        audited = sum(
            1
            for entry in self.audit.audit_log()
            if entry.action == "postmortem.edit" and entry.arguments.get("postmortem") == found.id
        )
        self.summary.append(
            f"postmortem #{found.id}: v{found.version} {found.status}, {audited} edits audited, "
            f"clicks and saves drawn on versions {sorted(self.drawn)}"
        )
        return one_step_per_click(found, self.drawn, audited, self.people.world.slack.workspace)
