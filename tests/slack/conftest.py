"""Each Slack test starts from an empty workspace and ends with Slack's rules checked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.rollout_tasks import posting_key, rollout_metadata
from bot.views.deploy import rollout_view
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import begin, start_canary
from commands.deploy.tools import DeployTools
from config import Profile
from opsbot.platform import sandbox_deploy_tools
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_workspace import BOT_USER, Message, Workspace
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from store.views import RolloutView
from tests.slack.helpers import DEPLOYER, assert_slack_would_accept, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bot(served_bot: SandboxBot) -> Iterator[SandboxBot]:
    """The served bot with an empty workspace; afterwards, every message it sent is checked."""
    served_bot.slack.workspace.clear()
    assert len(served_bot.runtime.in_flight) == 0, "a report from the last test is still running"
    yield served_bot
    assert_slack_would_accept(served_bot.slack.workspace)


# a rollout in seconds; Cloud Run operations polled often
FAST = {"interval_s": 1.0, "min_requests": 1, "watch_minutes": 0.02, "operation_poll_s": 0.2}


@pytest.fixture
def deploying() -> Iterator[SandboxBot]:
    """A sandbox of its own (rollouts change Cloud Run), with fast canary steps and busy services."""
    profile_path = ROOT / "opsbot.toml"
    with (
        Sandbox() as platform,
        sandbox_bot(load_profile(profile_path), platform, deploy_timing=FAST) as bot,
    ):
        assert platform.traffic is not None
        platform.traffic.rates.update(
            {"nba-scrapers": 500.0, "nba-phase4-precompute-processors": 500.0}
        )
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)
        assert_slack_would_accept(bot.slack.workspace)


@pytest.fixture
def regrading() -> Iterator[SandboxBot]:
    """A sandbox of its own (a backfill grades its warehouse), completions pulled often."""
    profile = load_profile(ROOT / "opsbot.toml")
    quick = profile.model_copy(
        update={"regrade": profile.regrade.model_copy(update={"poll_s": 0.1})}
    )
    with Sandbox() as platform, sandbox_bot(quick, platform, deploy_timing=FAST) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)
        assert_slack_would_accept(bot.slack.workspace)


def checklist_for(ws: Workspace, user: str) -> Message:
    """The deploy checklist shown to `user` (waited for)."""
    return wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == user and "review the checklist" in m.text),
            None,
        ),
    )


def rollout_message(ws: Workspace, words: str) -> Message:
    """The rollout's message in #canary-alerts once its text has `words` (waited for)."""
    return wait_until(
        ws,
        lambda: next((m for m in ws.bot_messages("#canary-alerts") if words in m.text), None),
        timeout_s=60,
    )


@dataclass
class LeftRollout:
    """A rollout a bot that died had started: live in Cloud Run and the store, nothing else."""

    platform: Sandbox
    profile: Profile  # the shipped profile; `fast` is what the rollout runs under
    fast: Profile
    tools: DeployTools
    rollout: RolloutView
    store_url: str

    def posted_in(self, ws: Workspace) -> Message:
        """The message the dead bot had posted for its rollout (as it was then), attached."""
        text, blocks = rollout_view(self.rollout, self.fast.deploy)
        posted = ws.post("#canary-alerts", text, [b.to_dict() for b in blocks], BOT_USER.id)
        self.tools.store.attach_message(self.rollout.id, posted.channel, posted.ts)
        return posted

    def posted_unrecorded_in(self, ws: Workspace) -> Message:
        """The message the dead bot posted for its rollout and was killed before recording."""
        self.tools.store.first_time(posting_key(self.rollout.id))
        text, blocks = rollout_view(self.rollout, self.fast.deploy)
        return ws.post(
            "#canary-alerts",
            text,
            [b.to_dict() for b in blocks],
            BOT_USER.id,
            metadata=rollout_metadata(self.rollout.id),
        )

    def bot(self) -> AbstractContextManager[SandboxBot]:
        """The bot that comes next: the same platform and store, not yet serving."""
        return sandbox_bot(
            self.profile, self.platform, deploy_timing=FAST, store_url=self.store_url
        )


@contextmanager
def left_rollout(tmp_path: Path, service: str) -> Iterator[LeftRollout]:
    """A sandbox whose store holds a canary of `service` started by a bot no longer there."""
    profile = load_profile(ROOT / "opsbot.toml")
    fast = profile.model_copy(update={"deploy": profile.deploy.model_copy(update=FAST)})
    url = sqlite_url(tmp_path / "opsbot.db")
    with Sandbox() as platform:
        assert platform.traffic is not None
        platform.traffic.rates[service] = 500.0  # enough requests for its analyses
        database = Database.open(url)
        try:
            tools = sandbox_deploy_tools(fast, platform, Store(database, platform.clock))
            left = begin(fast, tools, prepare(fast, tools, service, None), DEPLOYER)
            live = start_canary(fast, tools, left.id, DEPLOYER)
            assert live is not None
            yield LeftRollout(platform, profile, fast, tools, live, url)
        finally:
            database.close()
