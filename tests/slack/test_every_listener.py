"""Every listener the app registers, fed what Slack and Google document and then broken.

The cases are enumerated from what the app declares, so a new listener is covered without
editing this file: the slash commands, message shortcuts and events of manifest.yml, every
`ActionId`, the modals' callback ids in bot/views, and the two Google-signed endpoints
(/pubsub/grading-complete, /cron/<job>). `test_the_cases_reach_every_registered_listener`
checks both ways against the Bolt app itself: every listener it registers is reached by a case,
and every case by a listener.

Each case starts from the payload Slack (or Google) documents, built as the sandbox's Slack
sends it: a slash command's form, a `block_actions` click carrying the encoded ButtonValue its
listener parses (read from the listener's `Parsed` wiring), a `message_action`, a
`view_submission` with the modal's callback id and state, the `app_home_opened` event, Pub/Sub's
push envelope, Cloud Scheduler's call. Hypothesis then drops, retypes, nests, oversizes and
corrupts the fields the bot reads (inside a button's value, a modal's private_metadata and a
push's data too), signs the result and sends it to the served bot, as a role holder in a command
channel so that it gets past the role checks to the parsing.

For every case: the status is below 500, nothing logged an error or a traceback, and nothing
changed in the store, Cloud Run, Pub/Sub or what the Slack workspace shows (channel messages,
App Homes, modals) beyond what the unmutated request itself changes. Ephemeral answers to the
caller are allowed. The unmutated requests are chosen, where the operation has such a case,
to be refused or read-only (an unknown rollout, a fully graded date, a commit that does not
exist), so most listeners are held to "nothing changed" at all; those that always publish
(/health and /drift reports, the App Home, Post now, a cron slot, a modal opened) may publish,
and may write the schedule's run log, but nothing else.

The bot works after its ack in the background: each case waits (boundedly) until the served
bot's event loop has no task beyond those it had when idle and the workspace is quiet.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import re
import secrets
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml
from google.auth import crypt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import select

import bot.payloads
import bot.views
from adapters.pubsub import Received
from bot.actions import (
    ActionId,
    ActionItemRef,
    BackfillAction,
    ButtonValue,
    CheckDetails,
    DeployStart,
    DigestJob,
    DriftExpand,
    PostmortemRef,
    PostmortemStart,
    PostmortemStatus,
    RegradeStart,
    RollbackTo,
    RolloutAction,
)
from bot.app import assemble
from bot.oidc import google_verifier
from bot.parsed import Parsed
from bot.settings import SlackSettings
from bot.views.postmortem import EDIT_MODAL, TIMELINE_MODAL
from bot.views.regrade import MODAL as REGRADE_MODAL
from commands.regrade.completions import absorb
from commands.regrade.engine import pump, submit
from commands.regrade.plan import plan_regrade
from commands.schedule import cron
from commands.schedule.registry import JOB_IDS
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_delivery import SlackSender
from sandbox.slack_events import app_home_opened
from sandbox.slack_objects import Channel
from sandbox.slack_workspace import BOT_USER, Message, ResponseUrl
from store.postmortem_views import SECTIONS
from store.schema import Base
from store.states import RolloutState
from tests.google_oidc import google, id_token
from tests.slack.conftest import ROOT
from tests.slack.helpers import APPROVER

__all__ = ["google"]  # the fixture, imported

PUSH_AUDIENCE = "https://opsbot.example/pubsub/grading-complete"
PUSHER = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"
CRON_AUDIENCE = "https://opsbot.example"
SCHEDULER = "opsbot-scheduler@nba-props-platform.iam.gserviceaccount.com"
USER = APPROVER  # holds deployer, approver and regrader: every role check lets it through
CHANNEL = Channel("C0HEALTH01", "orchestration-health")  # a command channel
FORM = "application/x-www-form-urlencoded"
SETTLE_S = 15.0  # the longest a case's background work may take (a /health report: ~1 s)
ANSWER_S = 20.0  # the longest the bot may take to answer one request

# -- the listeners, as the app declares them ---------------------------------------------------

MANIFEST: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())


def _modal_callbacks() -> list[str]:
    """The callback ids of the modals bot/views renders (`"callback_id": NAME`, NAME a module
    constant): what a view_submission may carry."""
    found = []
    for path in sorted(Path(bot.views.__path__[0]).glob("*.py")):
        module = __import__(f"bot.views.{path.stem}", fromlist=["_"])
        for name in re.findall(r'"callback_id":\s*([A-Z_]+)\b', path.read_text()):
            found.append(getattr(module, name))
    return sorted(set(found))


@dataclass(frozen=True)
class Listener:
    kind: str  # command, action, shortcut, view, event, push, cron
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


LISTENERS = [
    *(Listener("command", c["command"]) for c in MANIFEST["features"]["slash_commands"]),
    *(Listener("action", str(a)) for a in ActionId),
    *(
        Listener("shortcut", s["callback_id"])
        for s in MANIFEST["features"]["shortcuts"]
        if s["type"] == "message"
    ),
    *(Listener("view", c) for c in _modal_callbacks()),
    *(Listener("event", e) for e in MANIFEST["settings"]["event_subscriptions"]["bot_events"]),
    Listener("push", "/pubsub/grading-complete"),
    Listener("cron", "/cron/<job>"),
]
PER_KIND = 40  # examples per kind of listener, spread over its listeners
MIN_EXAMPLES = 8  # and at least this many for each listener


def examples(listener: Listener) -> int:
    siblings = sum(1 for other in LISTENERS if other.kind == listener.kind)
    return max(MIN_EXAMPLES, math.ceil(PER_KIND / siblings))


# -- realistic values --------------------------------------------------------------------------

NO_SUCH = 999_999  # a rollout, backfill, postmortem or item that does not exist
# One realistic value of each kind of button, chosen so that the click is refused or only read
# (unknown ids, a commit that does not exist, a fully graded date) unless the button only posts.
BUTTON_VALUES: dict[type[ButtonValue], ButtonValue] = {
    CheckDetails: CheckDetails(check="grading_completeness", as_of=date(2026, 2, 4)),
    DriftExpand: DriftExpand(service="nba-scrapers"),
    DeployStart: DeployStart(service="nba-scrapers", commit="0" * 40),
    RolloutAction: RolloutAction(rollout=NO_SUCH, state=RolloutState.CANARY, step=1),
    RollbackTo: RollbackTo(service="nba-scrapers", revision="nba-scrapers-99999-zzz"),
    RegradeStart: RegradeStart(start=date(2026, 1, 27), end=date(2026, 1, 27)),
    BackfillAction: BackfillAction(backfill=NO_SUCH),
    DigestJob: DigestJob(job="drift-digest"),
    PostmortemStart: PostmortemStart(subject=f"rollout:{NO_SUCH}"),
    PostmortemRef: PostmortemRef(postmortem=NO_SUCH),
    PostmortemStatus: PostmortemStatus(postmortem=NO_SUCH, version=1, to="final"),
    ActionItemRef: ActionItemRef(item=NO_SUCH),
}
# The value kind of a listener not (yet) wired with Parsed(Click, kind): read from its code.
UNWIRED_VALUES: dict[str, type[ButtonValue]] = {
    ActionId.DIGEST_POST_NOW: DigestJob,
    ActionId.POSTMORTEM_START: PostmortemStart,
    ActionId.POSTMORTEM_EDIT: PostmortemRef,
    ActionId.POSTMORTEM_FINAL: PostmortemStatus,
    ActionId.POSTMORTEM_EXPORT: PostmortemRef,
    ActionId.ACTION_ITEM_DONE: ActionItemRef,
}
COMMAND_TEXT = {  # what a person types after each command (valid; refused or read-only if it can be)
    "/health": "2026-02-04",
    "/drift": "nba-scrapers",
    "/deploy": "nba-scrapers",
    "/rollback": "nba-scrapers",
    "/regrade": "2026-01-27 2026-01-28",
    "/digest": "drift",
    "/postmortem": f"rollout {NO_SUCH}",
}


class Embedded(dict[str, Any]):
    """A JSON object sent inside a string (a button's value, a modal's private_metadata): the
    mutations reach into it, and it is serialised when the payload is sent."""


class Base64Json(Embedded):
    """A JSON object sent as base64 (a Pub/Sub message's data)."""


def _read_keys() -> frozenset[str]:
    """Every field name the bot's parsing reads: the payload models and the button values."""
    names: set[str] = {"type", "value", "private_metadata", "state", "values"}
    models: list[type[BaseModel]] = [
        m for m in vars(bot.payloads).values() if isinstance(m, type) and issubclass(m, BaseModel)
    ]
    models += list(BUTTON_VALUES)
    for model in models:
        names.update(model.model_fields)
        names.update(f.alias for f in model.model_fields.values() if f.alias)
    return frozenset(names)


READ_KEYS = _read_keys()

# -- mutations ---------------------------------------------------------------------------------

BIG = "x" * 100_000
CORRUPT: list[Any] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    1e300,
    -1e300,
    2**70,
    -(2**70),
    -1,
    0,
    "²",
    "١٢٣",  # Arabic-Indic digits: int() takes them
    "NaN",
    "1e300",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-02-30",
    "<!channel>",
    "<!here|here>",
    f"{USER}<!channel>",
    f"<@{USER}>",
    "C0HEALTH01 <!channel>",
    "\x00",
    "\u202e",
    "\ud800",  # a lone surrogate: valid JSON (escaped), not encodable as UTF-8
    "'; DROP TABLE rollouts; --",
    "../../../etc/passwd",
    "nba-scrapers\nnba-scrapers",
    "a" * 300,
    " ",
    "",
]
NUMBERS: list[Any] = [float("nan"), float("inf"), -float("inf"), 1e300, 2**70, -(2**70), -1, 0]
DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$", re.DOTALL)
SLACK_ID = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
SLACK_TS = re.compile(r"^\d+\.\d+$")


def corruptions(old: Any) -> list[Any]:
    """What `old` is corrupted into: in its own shape where it has one (a date kept a date, an id
    an id, a number a number), else anything of CORRUPT."""
    if isinstance(old, int | float) and not isinstance(old, bool):
        return NUMBERS
    if not isinstance(old, str):
        return CORRUPT
    if found := DATE.match(old):
        rest = found.group(2)
        return [
            *(
                f"{day}{rest}"
                for day in ("9999-12-31", "0001-01-01", "2026-02-30", "２０２６-02-05")
            ),
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+14:00",
            f"{found.group(1)}{rest}²",
        ]
    if SLACK_ID.match(old):
        return [
            f"{old}<!channel>",
            "<!channel>",
            f"<@{old}>",
            old.lower(),
            "²",
            f"{old}\x00",
            "U" * 300,
        ]
    if SLACK_TS.match(old):
        return ["9" * 30 + ".1", "1e300", "NaN", "-1.0", "².1", "0.0"]
    return CORRUPT


RETYPED: list[Any] = [None, 0, 1.5, True, "", "text", [], {}]
OVERSIZED: list[Any] = [BIG, [0] * 10_000, {f"k{n}": n for n in range(1000)}]
Path_ = tuple[str | int, ...]


def _paths(tree: Any, everything: bool, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every node the bot reads: under a key of its payload models, inside an embedded object,
    anywhere in a modal's state (`everything`: every node)."""
    if isinstance(tree, dict):
        for key, child in tree.items():
            here = (*prefix, key)
            if everything or key in READ_KEYS or "state" in prefix or isinstance(tree, Embedded):
                yield here
            yield from _paths(child, everything, here)
    elif isinstance(tree, list):
        for index, child in enumerate(tree[:20]):
            yield (*prefix, index)
            yield from _paths(child, everything, (*prefix, index))


def _get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _copy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return type(tree)((k, _copy(v)) for k, v in tree.items())
    if isinstance(tree, list):
        return [_copy(v) for v in tree]
    return tree


def mutations(draw: Callable[..., Any], tree: Any, everything: bool) -> tuple[Any, list[str]]:
    """One to three mutations of `tree` (a copy), and what each was."""
    tree = _copy(tree)
    said: list[str] = []
    for _ in range(draw(st.integers(1, 3), label="how many mutations")):
        paths = list(_paths(tree, everything))
        if not paths:
            break
        path = draw(st.sampled_from(paths), label="path")
        parent, key = _get(tree, path[:-1]), path[-1]
        old = parent[key]
        op = draw(st.sampled_from(["drop", "retype", "nest", "oversize", "corrupt", "append"]))
        if op == "drop":
            del parent[key]
            said.append(f"drop {_name(path)}")
            continue
        if op == "retype":
            new = draw(st.sampled_from([v for v in RETYPED if type(v) is not type(old)]))
        elif op == "nest":
            new = draw(st.sampled_from([[old], {"value": old}, {str(key): old}]))
        elif op == "oversize":
            new = draw(st.sampled_from(OVERSIZED))
        elif op == "corrupt":
            new = draw(st.sampled_from(corruptions(old)))
        else:
            new = f"{old if isinstance(old, str) else json.dumps(old)} {draw(st.sampled_from(CORRUPT))}"
        parent[key] = _copy(new)  # never a shared object: later mutations may reach into it
        said.append(f"{op} {_name(path)} = {_shown(new)}")
    return tree, said


def _name(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "(body)"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}… ({len(text)} chars)"


# -- sending -----------------------------------------------------------------------------------


def materialised(tree: Any) -> Any:
    """The tree as it is sent: embedded objects as their JSON (or base64 of it)."""
    if isinstance(tree, Base64Json):
        return base64.b64encode(json.dumps(materialised(dict(tree))).encode()).decode()
    if isinstance(tree, Embedded):
        return json.dumps(materialised(dict(tree)))
    if isinstance(tree, dict):
        return {k: materialised(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [materialised(v) for v in tree]
    return tree


def form(fields: dict[str, Any]) -> str:
    """A slash command's form: a retyped field is sent as a form can carry it (a list as the
    key repeated, anything else as its JSON, null as empty)."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            text = "" if one is None else one if isinstance(one, str) else json.dumps(one)
            pairs.append((str(key), text))
    return urlencode(pairs, errors="surrogatepass")


def header_text(value: Any) -> str:
    """A value as an HTTP header can carry it (Latin-1, one line)."""
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\r", " ").replace("\n", " ").strip()


@dataclass
class Answer:
    status: int
    body: str


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_S) as answer:
            return Answer(answer.status, answer.read().decode(errors="replace"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read().decode(errors="replace"))
    except TimeoutError:
        return Answer(0, f"no answer within {ANSWER_S:g}s")


# -- the world: a served bot, and what "changed" means -----------------------------------------


class Records(logging.Handler):
    """Every record logged while a case runs (from any thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock_:
            self.records.append(record)

    def tracebacks(self) -> list[str]:
        """Each error or traceback logged: its message, and the exception with where it rose."""
        with self.lock_:
            bad = [r for r in self.records if r.levelno >= logging.ERROR or r.exc_info]
        return [f"{r.name} {r.levelname}: {r.getMessage()[:200].strip()}{_raised(r)}" for r in bad]


def _raised(record: logging.LogRecord) -> str:
    """` (TypeError: … at bot/x.py:12)`: the logged exception and its innermost frame of ours."""
    if not record.exc_info or record.exc_info[1] is None:
        return ""
    error = record.exc_info[1]
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename]
    where = f" at {_frame(frames[-1])}" if frames else ""
    if ours and ours[-1] is not frames[-1]:
        where += f" (via {_frame(ours[-1])})"
    return f" ({type(error).__name__}: {str(error)[:160]}{where})"


def _frame(frame: traceback.FrameSummary) -> str:
    name = frame.filename.removeprefix(f"{ROOT}/").rpartition("/site-packages/")[2]
    return f"{name}:{frame.lineno}"


@dataclass
class Baseline:
    """What the unmutated request did."""

    status: int
    changed: dict[str, str]
    problems: list[str]


@dataclass
class World:
    bot: SandboxBot
    signer: crypt.RSASigner
    sender: SlackSender
    source: Message  # the ephemeral message a click comes from (its response_url's target)
    posted: Message  # a channel message a shortcut is used on
    views: dict[str, str]  # callback id → the id of an open modal with it
    done: dict[str, Any]  # a completion Pub/Sub already delivered (its date is done)
    listeners: list[AsyncListener]  # the Bolt app's, as bot/app.py assembles it
    loop: asyncio.AbstractEventLoop
    idle: frozenset[asyncio.Task[Any]] = frozenset()
    baselines: dict[str, Baseline] = field(default_factory=dict)

    @property
    def ws(self) -> Any:
        return self.bot.slack.workspace

    # -- quiet ---------------------------------------------------------------------------------
    def busy(self) -> list[str]:
        """The tasks on the bot's loop beyond those it had when idle."""

        async def extra() -> list[str]:
            me = asyncio.current_task()
            return [t.get_name() for t in asyncio.all_tasks() if t is not me and t not in self.idle]

        return asyncio.run_coroutine_threadsafe(extra(), self.loop).result(timeout=10)

    def settle(self) -> str | None:
        """Wait until the bot's background work is done and Slack is quiet (three polls in a
        row); bounded by SETTLE_S. What is still running, if it did not settle."""
        deadline = time.monotonic() + SETTLE_S
        quiet, version, busy = 0, self.ws.version, []
        while time.monotonic() < deadline:
            busy = self.busy()
            if busy or self.ws.version != version:
                quiet, version = 0, self.ws.version
            else:
                quiet += 1
                if quiet >= 3:
                    return None
            self.ws.wait_for_change(version, 0.02)  # wakes at once on a change
        return f"still busy after {SETTLE_S:g}s: {busy}"

    # -- what changed ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Each part of the world: (a count, a digest of its content)."""
        parts: dict[str, tuple[int, str]] = {}
        database = self.bot.store.get(wait_s=30)
        with database.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                if table.name == "idempotency_keys":  # deliveries seen: bookkeeping, not state
                    continue
                rows = sorted(repr(tuple(row)) for row in connection.execute(select(table)))
                parts[f"store.{table.name}"] = (len(rows), _digest(rows))
        platform = self.bot.platform
        assert platform.cloud_run is not None and platform.pubsub is not None
        state = platform.cloud_run.state
        with state.lock:
            revisions = sorted(state.revisions)
            traffic = {n: s.get("traffic") for n, s in state.services.items()}
        parts["cloud_run"] = (len(revisions), _digest([revisions, traffic]))
        published = list(platform.pubsub.published)
        parts["pubsub"] = (len(published), _digest(published))
        ws = self.ws
        shown = [
            (m.channel, m.ts, m.thread_ts, m.text, m.blocks, m.edits)
            for m in list(ws.messages)
            if m.ephemeral_to is None
        ]
        homes = dict(ws.homes)
        modals = {i: (v.view, list(v.stack)) for i, v in dict(ws.views).items()}
        parts["slack.messages"] = (len(shown), _digest(shown))
        parts["slack.homes"] = (len(homes), _digest(homes))
        parts["slack.modals"] = (len(modals), _digest(modals))
        return parts

    # -- one request ----------------------------------------------------------------------------
    def run(self, listener: Listener, tree: Any) -> tuple[Answer, dict[str, str], list[str]]:
        """Send one request, wait for its work; (its answer, what changed, the problems seen)."""
        problems: list[str] = []
        before = self.snapshot()
        with recorded() as records:
            answer = self.send(listener, tree)
            still = self.settle()
        if still:
            problems.append(still)
        after = self.snapshot()
        changed = {
            part: f"{before[part][0]} → {after[part][0]}"
            for part in before
            if before[part] != after[part]
        }
        if not 0 < answer.status < 500:
            problems.append(f"answered {answer.status}: {answer.body[:200]!r}")
        problems += [f"logged {said}" for said in records.tracebacks()]
        return answer, changed, problems

    def send(self, listener: Listener, tree: Any) -> Answer:
        sent = materialised(tree)
        if listener.kind == "command":
            body = form(sent) if isinstance(sent, dict) else str(sent)
            delivery = self.sender.send(body, FORM)
            answer = Answer(delivery.status, delivery.body)
            if isinstance(tree, dict):
                self.show_ack(answer, str(tree.get("response_url")))
            return answer
        if listener.kind in ("action", "shortcut", "view"):
            payload = json.dumps(sent)
            delivery = self.sender.send(
                urlencode({"payload": payload}, errors="surrogatepass"), FORM
            )
            return Answer(delivery.status, delivery.body)
        if listener.kind == "event":
            delivery = self.sender.send(json.dumps(sent), "application/json")
            return Answer(delivery.status, delivery.body)
        url = self.bot.server.url
        if listener.kind == "push":
            token = id_token(self.signer, aud=PUSH_AUDIENCE, email=PUSHER)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            return post(f"{url}/pubsub/grading-complete", json.dumps(sent).encode(), headers)
        assert listener.kind == "cron"
        sent = sent if isinstance(sent, dict) else {"job": sent}
        job = sent.get("job", "")
        named = job if isinstance(job, str) else json.dumps(job)
        # a token for the job's URL (its audience names the job), a new one each call (a token
        # is used once): what Cloud Scheduler sends
        token = id_token(
            self.signer,
            aud=f"{CRON_AUDIENCE}/cron/{named}",
            email=SCHEDULER,
            nonce=secrets.token_hex(8),
        )
        headers = {"Authorization": f"Bearer {token}"}
        if "schedule_time" in sent:
            headers["X-CloudScheduler-ScheduleTime"] = header_text(sent["schedule_time"])
        path = quote(named, safe="", errors="replace")
        return post(f"{url}/cron/{path}", b"", headers)

    def show_ack(self, answer: Answer, response_url: str) -> None:
        """What Slack does with a command's ack: its text is shown to the caller, and the
        command's response_url then names that message (the emulator's rule)."""
        if answer.status != 200 or not answer.body.strip():
            return
        try:
            said = json.loads(answer.body)
        except ValueError:
            said = {"text": answer.body}
        if not isinstance(said, dict) or not (said.get("text") or said.get("blocks")):
            return
        in_channel = said.get("response_type") == "in_channel"
        shown = self.ws.post(
            CHANNEL.id,
            said.get("text"),
            said.get("blocks"),
            BOT_USER.id,
            None if in_channel else USER,
        )
        self.ws.answered(response_url, shown)

    # -- the unmutated requests -----------------------------------------------------------------
    def button_value(self, action: str) -> Embedded | None:
        """The value the action's listener parses: its Parsed(Click, kind) wiring, else the
        kind its code reads; None for a button without a value."""
        probe = self.base(Listener("action", action), value=False)
        for listener in self.matching(Listener("action", action), probe):
            for middleware in listener.middleware:
                if isinstance(middleware, Parsed):
                    kind = middleware.value
                    return (
                        None if kind is None else Embedded(json.loads(BUTTON_VALUES[kind].encode()))
                    )
        kind = UNWIRED_VALUES.get(action)
        return None if kind is None else Embedded(json.loads(BUTTON_VALUES[kind].encode()))

    def matching(self, listener: Listener, tree: Any) -> list[AsyncListener]:
        """The app's listeners that match this request (Bolt's own matchers)."""
        if listener.kind in ("push", "cron"):
            return []
        sent = materialised(tree)
        if listener.kind == "command":
            body, kind = form(sent), FORM
        elif listener.kind == "event":
            body, kind = json.dumps(sent), "application/json"
        else:
            body, kind = urlencode({"payload": json.dumps(sent)}), FORM
        request = AsyncBoltRequest(body=body, headers={"content-type": [kind]})

        async def matched() -> list[AsyncListener]:
            return [
                one
                for one in self.listeners
                if await one.async_matches(req=request, resp=BoltResponse(status=200))
            ]

        return asyncio.run(matched())

    def base(self, listener: Listener, value: bool = True) -> Any:
        """The request as Slack (or Google) sends it, before any mutation."""
        ws = self.ws
        user = {"id": USER, "username": "lee", "name": "lee", "team_id": ws.team_id}
        team = {"id": ws.team_id, "domain": "sandbox"}
        where = {"id": CHANNEL.id, "name": CHANNEL.name}
        if listener.kind == "command":
            return {
                "token": "sandbox-verification-token",
                "team_id": ws.team_id,
                "team_domain": "sandbox",
                "channel_id": CHANNEL.id,
                "channel_name": CHANNEL.name,
                "user_id": USER,
                "user_name": "lee",
                "command": listener.name,
                "text": COMMAND_TEXT.get(listener.name, "help"),
                "api_app_id": "A0OPSBOT00",
                "is_enterprise_install": "false",
                "response_url": ws.new_response_url(
                    self.bot.slack.url, ResponseUrl(CHANNEL.id, USER, None, False)
                ),
                "trigger_id": ws.issue_trigger(USER),
            }
        if listener.kind == "action":
            action: dict[str, Any] = {
                "type": "button",
                "action_id": listener.name,
                "block_id": "actions",
                "text": {"type": "plain_text", "text": "Go"},
                "action_ts": f"{time.time():.6f}",
            }
            wanted = self.button_value(listener.name) if value else None
            if wanted is not None:
                action["value"] = wanted
            return {
                "type": "block_actions",
                "user": user,
                "api_app_id": "A0OPSBOT00",
                "token": "sandbox-verification-token",
                "container": {
                    "type": "message",
                    "message_ts": self.source.ts,
                    "channel_id": CHANNEL.id,
                    "is_ephemeral": True,
                },
                "trigger_id": ws.issue_trigger(USER),
                "team": team,
                "channel": where,
                "response_url": ws.new_response_url(
                    self.bot.slack.url, ResponseUrl(CHANNEL.id, USER, self.source.ts, True)
                ),
                "actions": [action],
            }
        if listener.kind == "shortcut":
            return {
                "type": "message_action",
                "callback_id": listener.name,
                "trigger_id": ws.issue_trigger(USER),
                "message_ts": self.posted.ts,
                "message": {
                    "type": "message",
                    "ts": self.posted.ts,
                    "text": self.posted.text,
                    "blocks": self.posted.blocks,
                    "user": self.posted.user,
                },
                "channel": where,
                "user": user,
                "team": team,
                "response_url": ws.new_response_url(
                    self.bot.slack.url, ResponseUrl(CHANNEL.id, USER, None, False)
                ),
                "token": "sandbox-verification-token",
            }
        if listener.kind == "view":
            metadata, values = self.modal_state(listener.name)
            return {
                "type": "view_submission",
                "team": team,
                "user": user,
                "view": {
                    "id": self.views[listener.name],
                    "type": "modal",
                    "callback_id": listener.name,
                    "private_metadata": metadata,
                    "state": {"values": values},
                    "title": {"type": "plain_text", "text": "opsbot"},
                    "blocks": [],
                },
                "trigger_id": ws.issue_trigger(USER),
                "token": "sandbox-verification-token",
            }
        if listener.kind == "event":
            if listener.name == "app_home_opened":
                return app_home_opened(ws, USER)
            return {
                "type": "event_callback",
                "team_id": ws.team_id,
                "api_app_id": "A0OPSBOT00",
                "event": {"type": listener.name, "user": USER, "event_ts": f"{time.time():.6f}"},
                "event_id": f"Ev{secrets.token_hex(5).upper()}",
                "event_time": int(time.time()),
            }
        if listener.kind == "push":
            return {
                "message": {
                    "data": Base64Json(self.done),
                    "attributes": {"backfill_id": "1", "requested_by": USER},
                    "messageId": str(secrets.randbelow(10**12)),
                    "publishTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                },
                "subscription": "projects/nba-props-platform/subscriptions/opsbot-push",
            }
        assert listener.kind == "cron"
        job = JOB_IDS[0]
        config = self.bot.runtime.profile.schedule.jobs[job]
        slot = cron.latest_slot(config.cron, config.timezone, self.bot.platform.clock())
        assert slot is not None
        return {"job": job, "schedule_time": slot.isoformat().replace("+00:00", "Z")}

    def modal_state(self, callback: str) -> tuple[Embedded, dict[str, Any]]:
        """A modal's private_metadata and submitted state, as its view was rendered: the dates
        of a fully graded day; a postmortem that does not exist."""
        opened_in = {"channel": CHANNEL.id, "channel_name": CHANNEL.name}
        if callback == REGRADE_MODAL:
            return Embedded(opened_in), {
                "start": {"start": {"type": "datepicker", "selected_date": "2026-01-27"}},
                "end": {"end": {"type": "datepicker", "selected_date": "2026-01-27"}},
                "graded": {"graded": {"type": "checkboxes", "selected_options": []}},
                "reason": {"reason": {"type": "plain_text_input", "value": "regrade after a fix"}},
            }
        if callback == EDIT_MODAL:
            values: dict[str, Any] = {
                "severity": {
                    "severity": {
                        "type": "static_select",
                        "selected_option": {
                            "text": {"type": "plain_text", "text": "SEV3"},
                            "value": "SEV3",
                        },
                    }
                },
                **{
                    name: {name: {"type": "plain_text_input", "value": f"The {name}."}}
                    for name in SECTIONS
                },
                "item_text": {"item_text": {"type": "plain_text_input", "value": "Add an alert"}},
                "item_owner": {"item_owner": {"type": "users_select", "selected_user": USER}},
                "item_due": {"item_due": {"type": "datepicker", "selected_date": "2026-03-01"}},
            }
            return Embedded({"id": NO_SUCH, "version": 1} | opened_in), values
        if callback == TIMELINE_MODAL:
            picked = {
                "text": {"type": "plain_text", "text": f"#{NO_SUCH} Rollout"},
                "value": str(NO_SUCH),
            }
            message = opened_in | {
                "ts": self.posted.ts,
                "user": BOT_USER.id,
                "text": self.posted.text,
            }
            return Embedded(message), {
                "postmortem": {"postmortem": {"type": "static_select", "selected_option": picked}}
            }
        return Embedded(opened_in), {}

    def baseline(self, listener: Listener) -> Baseline:
        """What the unmutated request does (measured once)."""
        key = str(listener)
        if key not in self.baselines:
            answer, changed, problems = self.run(listener, self.base(listener))
            self.baselines[key] = Baseline(answer.status, changed, problems)
        return self.baselines[key]


# What an unmutated request may change: what a person sees in Slack, and a scheduled job's run.
MAY_PUBLISH = {"slack.messages", "slack.homes", "slack.modals", "store.schedule_runs"}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=repr).encode()).hexdigest()


@contextmanager
def recorded() -> Iterator[Records]:
    """The log records of every thread meanwhile (the root logger's, and uvicorn's own)."""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for one in loggers:
        one.addHandler(handler)
    try:
        yield handler
    finally:
        for one in loggers:
            one.removeHandler(handler)


@pytest.fixture(scope="module")
def world(google: tuple[crypt.RSASigner, str]) -> Iterator[World]:
    """A served bot of its own (with the push and cron endpoints configured), a backfill whose
    one date is done, a channel message to use shortcuts on, and a modal of each kind open."""
    shipped = load_profile(ROOT / "opsbot.toml")
    profile = shipped.model_copy(
        update={
            "regrade": shipped.regrade.model_copy(
                update={
                    "push_audience": PUSH_AUDIENCE,
                    "push_service_accounts": [PUSHER],
                    "poll_s": 3600,  # completions come by push only
                }
            ),
            "schedule": shipped.schedule.model_copy(
                update={
                    "endpoint_audience": CRON_AUDIENCE,
                    "endpoint_service_accounts": [SCHEDULER],
                }
            ),
        }
    )
    with (
        Sandbox() as platform,
        sandbox_bot(profile, platform, push_verify=google_verifier(google[1])) as served,
    ):
        thread = served.server.start_in_thread()
        try:
            yield _world(served, google[0])
        finally:
            served.server.stop(thread)


def _world(served: SandboxBot, signer: crypt.RSASigner) -> World:
    ws = served.slack.workspace
    assert served.slack.sender is not None and served.platform.grading is not None
    served.platform.grading.stopping.set()  # no completion but the test's
    served.store.get(wait_s=30)
    tools_of = served.runtime.regrade_tools
    assert tools_of is not None
    tools = tools_of()
    day = date(2026, 1, 28)
    plan = plan_regrade(
        served.runtime.profile,
        tools.warehouse,
        day,
        day,
        today=date(2026, 2, 5),
        include_graded=False,
        in_flight=tools.backfills.in_flight,
        estimate=lambda query: 0,
    )
    backfill, _ = submit(served.runtime.profile, tools, plan, USER)
    done = {
        "target_date": day.isoformat(),
        "status": "success",
        "graded_count": 662,
        "mae": 11.1,
        "correlation_id": backfill.dates[0].correlation_id,
    }
    absorb(tools, [Received("", "1", done, {})])
    assert pump(served.runtime.profile, tools, backfill.id).state == "done"
    with urllib.request.urlopen(f"{served.server.url}/healthz", timeout=30):
        pass  # the first request: the bot's start-up work (store, resumes) runs after it
    settings_ = SlackSettings(
        slack_bot_token=ws.bot_token,
        slack_signing_secret=served.slack.sender.signing_secret,
        opsbot_slack_api_url=served.slack.api_url,
    )
    app = assemble(served.runtime, settings_).app
    source = ws.post(CHANNEL.id, "Review the checklist", [], BOT_USER.id, USER)
    posted = ws.post(CHANNEL.id, "Grading for 2026-01-27 is missing: regrade it", [], BOT_USER.id)
    views = {}
    for listener in LISTENERS:
        if listener.kind == "view":
            opened = ws.open_view(
                USER,
                {
                    "type": "modal",
                    "callback_id": listener.name,
                    "title": {"type": "plain_text", "text": "opsbot"},
                    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "…"}}],
                },
            )
            views[listener.name] = opened.id
    loop = served.server.servers[0].get_loop()
    made = World(
        served,
        signer,
        SlackSender(served.slack.sender.request_url, served.slack.sender.signing_secret, ANSWER_S),
        source,
        posted,
        views,
        done,
        list(app._async_listeners),
        loop,
    )
    made.idle = frozenset(_idle_tasks(made))
    return made


def _idle_tasks(world: World) -> set[asyncio.Task[Any]]:
    """The tasks the served bot has when it has nothing to do: taken once start-up is over (the
    set has not changed for a second)."""

    async def tasks() -> set[asyncio.Task[Any]]:
        me = asyncio.current_task()
        return {t for t in asyncio.all_tasks() if t is not me}

    seen: set[asyncio.Task[Any]] = set()
    stable_since = time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = asyncio.run_coroutine_threadsafe(tasks(), world.loop).result(timeout=10)
        if now != seen:
            seen, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            return seen
        world.ws.wait_for_change(world.ws.version, 0.05)
    raise AssertionError(f"the bot never went idle: {[t.get_name() for t in seen]}")


# -- the tests ---------------------------------------------------------------------------------


def test_every_kind_of_button_value_has_a_realistic_example() -> None:
    kinds = set(ButtonValue.__subclasses__())
    assert kinds <= set(BUTTON_VALUES), f"add an example value for {kinds - set(BUTTON_VALUES)}"


def test_the_cases_reach_every_registered_listener(world: World) -> None:
    """Every listener the Bolt app registers is reached by a case, and every case by one."""
    reached: set[int] = set()
    unreached_cases = []
    for listener in LISTENERS:
        if listener.kind in ("push", "cron"):
            continue
        found = world.matching(listener, world.base(listener))
        if not found:
            unreached_cases.append(str(listener))
        reached.update(id(one) for one in found)
    missed = [one for one in world.listeners if id(one) not in reached]
    assert missed == [], f"listeners no case reaches: {[_described(one) for one in missed]}"
    assert unreached_cases == [], f"cases no listener answers: {unreached_cases}"


def _described(listener: AsyncListener) -> str:
    function = getattr(listener, "ack_function", None)
    return getattr(function, "__qualname__", repr(listener))


@pytest.mark.parametrize("listener", LISTENERS, ids=str)
def test_a_hostile_payload_is_answered_below_500_with_no_traceback_and_changes_nothing(
    world: World, listener: Listener
) -> None:
    baseline = world.baseline(listener)
    unexpected = sorted(set(baseline.changed) - MAY_PUBLISH)
    assert baseline.problems == [] and unexpected == [], (
        f"the unmutated {listener} request: {baseline.problems}; "
        f"it changed {[f'{p}: {baseline.changed[p]}' for p in unexpected]}"
    )
    everything = listener.kind in ("push", "cron")

    @settings(
        max_examples=examples(listener),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def hostile(data: st.DataObject) -> None:
        tree, how = mutations(data.draw, world.base(listener), everything)
        _, changed, problems = world.run(listener, tree)
        beyond = {p: c for p, c in changed.items() if p not in baseline.changed}
        if beyond:
            problems.append(f"changed {beyond} (the unmutated request changes {baseline.changed})")
        assert problems == [], f"{listener} after {how}: {problems}"

    hostile()


@pytest.mark.parametrize(
    "schedule_time",
    [
        "9999-12-31T00:00:00Z",  # ran a slot in the year 9999
        "9999-12-31T23:59:59Z",  # OverflowError: a 500 and a traceback
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "2026-02-05T18:00:00",  # no offset
        "yesterday",
    ],
)
def test_a_cron_call_for_a_time_cloud_scheduler_would_not_send_is_400_and_runs_nothing(
    world: World, schedule_time: str
) -> None:
    """X-CloudScheduler-ScheduleTime out of the calendar's reach, or far from now: a 400 with a
    JSON error naming the header; no run claimed, nothing posted, no traceback."""
    cron_call = Listener("cron", "/cron/<job>")
    answer, changed, problems = world.run(
        cron_call, world.base(cron_call) | {"schedule_time": schedule_time}
    )
    assert answer.status == 400, answer
    assert "X-CloudScheduler-ScheduleTime" in json.loads(answer.body)["error"]
    assert changed == {} and problems == []
