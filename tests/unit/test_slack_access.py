"""Who may run what where, from the profile's [slack] section."""

from __future__ import annotations

import logging
import socket

import pytest

from bot.access import Access, Caller, caller_of
from bot.errors import describe
from bot.in_flight import InFlight
from bot.listeners.drift import parse_drift_args
from bot.server import bind
from bot.settings import load_slack_settings
from commands.errors import RequestError
from config import ConfigError, Profile, SlackConfig

CONFIG = SlackConfig(
    command_channels=["#orchestration-health", "C0DEPLOY01"], roles={"approver": ["U0LEEAPPRV"]}
)


def test_read_only_commands_answer_in_listed_channels_by_name_or_id() -> None:
    access = Access(CONFIG)
    assert access.refusal(Caller("U1", "C0HEALTH01", "orchestration-health")) is None
    assert access.refusal(Caller("U1", "C0DEPLOY01", None)) is None
    refusal = access.refusal(Caller("U1", "C0RANDOM01", "random"))
    assert refusal is not None and "#orchestration-health, <#C0DEPLOY01>" in refusal


def test_a_role_is_needed_for_mutations_and_the_refusal_names_who_holds_it() -> None:
    access = Access(CONFIG)
    here = ("C0HEALTH01", "orchestration-health")
    assert access.refusal(Caller("U0LEEAPPRV", *here), "approver") is None
    refusal = access.refusal(Caller("U0DANAONCL", *here), "approver")
    assert refusal is not None and "approver role" in refusal and "<@U0LEEAPPRV>" in refusal
    assert "nobody yet" in (access.refusal(Caller("U0LEEAPPRV", *here), "deployer") or "")


def test_the_caller_of_a_command_and_of_a_click() -> None:
    assert caller_of(
        {"command": "/health", "user_id": "U1", "channel_id": "C1", "channel_name": "x"}
    ) == Caller("U1", "C1", "x")
    click = {"type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C2", "name": "y"}}
    assert caller_of(click) == Caller("U2", "C2", "y")


def test_drift_arguments(profile: Profile) -> None:
    assert parse_drift_args("", profile).services == []
    assert parse_drift_args("contains 3F18B34B prediction-worker", profile).contains == "3f18b34b"
    with pytest.raises(RequestError, match=r"^$"):
        parse_drift_args("help", profile)


def test_missing_slack_secrets_name_the_variables_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    with pytest.raises(ConfigError, match="set SLACK_SIGNING_SECRET in the environment"):
        load_slack_settings()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    settings = load_slack_settings()
    assert "xoxb-secret-value" not in repr(settings) and "shh" not in repr(settings)


def test_an_unexpected_error_gets_a_reference_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        said = describe(KeyError("internal detail"))
    assert said.reference is not None and said.reference in said.text
    assert "internal detail" not in said.text and "Traceback" not in said.text
    assert said.reference in caplog.text
    assert describe(RequestError("bad date")).text == "bad date"


def test_the_listening_socket_says_tcp_so_asyncio_turns_nagle_off() -> None:
    """Without it every ack with a body waited ~40 ms for a delayed ACK (found by bench.ack_latency)."""
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_a_late_release_of_an_old_claim_does_not_free_a_newer_one() -> None:
    """The race that let two /health reports run at once in one channel."""
    in_flight = InFlight()
    first = in_flight.claim(("health", "C1"))
    assert first is not None and in_flight.claim(("health", "C1")) is None
    first.release()
    second = in_flight.claim(("health", "C1"))
    assert second is not None
    first.release()  # the first report's `finally`, after the second was claimed
    assert in_flight.claim(("health", "C1")) is None
    second.release()
    assert len(in_flight) == 0
