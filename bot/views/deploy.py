"""/deploy in Slack: the checklist for the requester, and the rollout's one live message."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    PlainTextObject,
)

from bot.actions import ActionId, DeployStart, RolloutAction
from bot.views.kit import (
    button,
    context,
    escape,
    escape_but_mentions,
    header,
    lines_section,
    mention,
    section,
    within_limits,
)
from commands.deploy.checklist import Checklist
from commands.deploy.verdict import Analysis, Verdict, pct
from config import DeployConfig
from store.states import RolloutState

if TYPE_CHECKING:
    from store.views import RolloutView

STATE_EMOJI = {
    RolloutState.CHECKLIST: ":clipboard:",
    RolloutState.CANARY: ":hatching_chick:",
    RolloutState.WATCH: ":eyes:",
    RolloutState.COMPLETE: ":white_check_mark:",
    RolloutState.ROLLING_BACK: ":rewind:",
    RolloutState.ROLLED_BACK: ":rewind:",
    RolloutState.CANCELLED: ":heavy_minus_sign:",
    RolloutState.FAILED: ":x:",
}


def checklist_view(checklist: Checklist, blockers: list[str]) -> tuple[str, list[Block]]:
    commit = checklist.commit
    lines = [
        f"*Commit* `{commit.short}` {escape(commit.subject)} — {escape(commit.author)}",
        f"*Replaces* {escape(checklist.stable_revision)} "
        + (
            f"(runs `{escape(checklist.deployed)}`)"
            if checklist.deployed
            else "(no commit-sha label)"
        ),
        ("*Ships* " if checklist.shipped_count is not None else ":warning: *Ships* ")
        + escape(checklist.ships)
        + (f" by {escape(', '.join(checklist.authors))}" if checklist.authors else ""),
    ]
    if checklist.health is not None:
        health = checklist.health
        lines.append(
            f"*Data now* {health.name} {health.status.value} ({escape(health.detail)}); "
            "the canary fails if it gets worse"
        )
    blocks: list[Block] = [
        header(f"Deploy {checklist.service} · checklist"),
        section("\n".join(lines)),
    ]
    if checklist.shipped:
        shown = [f"• `{c.short}` {escape(c.subject)}" for c in checklist.shipped]
        more = (checklist.shipped_count or 0) - len(shown)
        if more > 0:
            shown.append(f"_and {more} more_")
        blocks.append(lines_section(shown))
    if checklist.schema_changes:
        blocks.append(
            lines_section(
                [
                    ":warning: *Schema changes*",
                    *(f"`{escape(c)}`" for c in checklist.schema_changes),
                ]
            )
        )
    if checklist.freeze is not None:
        blocks.append(
            section(f":snowflake: Deploy freeze in force: {escape(checklist.freeze.reason)}")
        )
    if blockers:
        blocks.append(
            lines_section([":no_entry: *Cannot start*", *(f"• {escape(b)}" for b in blockers)])
        )
        return f"Deploy {checklist.service}: cannot start", within_limits(blocks)
    start = button(
        "Start canary",
        ActionId.DEPLOY_START,
        DeployStart(service=checklist.service, commit=commit.sha).encode(),
        "primary",
    )
    cancel = button("Cancel", ActionId.DEPLOY_CANCEL, "cancel")
    blocks.append(ActionsBlock(elements=[start, cancel]))
    return f"Deploy {checklist.service} {commit.short}: review the checklist", within_limits(blocks)


def _confirm(title: str, text: str, yes: str) -> ConfirmObject:
    return ConfirmObject(title=PlainTextObject(text=title), text=text, confirm=yes, deny="Cancel")


def rollout_view(
    rollout: RolloutView,
    policy: DeployConfig,
    analysis: Analysis | None = None,
    now: datetime | None = None,
) -> tuple[str, list[Block]]:
    """The rollout's one message; `now` says how long a canary revision has been in the making."""
    state = rollout.state
    percent = policy.steps[min(rollout.step, len(policy.steps) - 1)]
    creating = state is RolloutState.CANARY and rollout.operation is not None
    since = rollout.step_started_at or rollout.created_at
    waited = max(0, round(((now or since) - since).total_seconds()))
    where = {
        RolloutState.CANARY: f"creating revision… {waited} s"
        if creating
        else f"canary at {percent}%",
        RolloutState.WATCH: "100%, watched",
        RolloutState.ROLLING_BACK: "rolling back",
    }.get(state, state.value.replace("_", " "))
    steps = " → ".join(
        f"*{s}%*" if i == rollout.step and state is RolloutState.CANARY else f"{s}%"
        for i, s in enumerate(policy.steps)
    )
    blocks: list[Block] = [
        header(f"Deploy {rollout.service} {rollout.commit_sha[:8]} · {where}"),
        context(
            f"{STATE_EMOJI[state]} rollout #{rollout.id} by {mention(rollout.requested_by)} · steps {steps} · "
            f"stable {escape(rollout.stable_revision)} · canary {escape(rollout.canary_revision or '—')}"
        ),
    ]
    if analysis is not None:
        c, s = analysis.canary, analysis.stable
        table = (
            "```"
            f"\n{'':8}{'requests':>10}{'5xx':>8}{'p95 ms':>9}"
            f"\n{'canary':8}{c.requests:>10}{pct(c.error_ratio):>8}{_ms(c.p95_ms):>9}"
            f"\n{'stable':8}{s.requests:>10}{pct(s.error_ratio):>8}{_ms(s.p95_ms):>9}"
            "\n```"
        )
        verdict = {
            Verdict.PASS: ":white_check_mark: pass",
            Verdict.FAIL: ":x: fail",
            Verdict.INSUFFICIENT: ":hourglass_flowing_sand: insufficient data",
        }[analysis.verdict]
        blocks.append(section(f"*Last analysis:* {verdict}\n{table}"))
        if analysis.reasons:
            blocks.append(lines_section([f"• {escape(r)}" for r in analysis.reasons]))
        if analysis.output is not None and analysis.output.ok:  # a failing one is a reason above
            blocks.append(context(f"output: {escape(analysis.output.detail)}"))
        if analysis.errors:
            blocks.append(
                lines_section(
                    ["*Canary ERROR lines*", *(f"`{escape(e.text)}`" for e in analysis.errors)]
                )
            )
    if rollout.reason:
        said = "Rolling back" if state is RolloutState.ROLLING_BACK else "Ended"
        blocks.append(section(f"*{said}:* {escape_but_mentions(rollout.reason)}"))
    if rollout.approvals:
        who = ", ".join(f"{mention(a.user)} ({policy.steps[a.step]}%)" for a in rollout.approvals)
        blocks.append(context(f"approved by {who}"))
    if creating:
        blocks.append(
            context(
                ":hourglass_flowing_sand: Cloud Run is creating the canary revision (image pull, "
                f"start-up, health checks); {policy.steps[0]}% of traffic moves to it once it is "
                f"ready, or the rollout fails after {policy.revision_ready_timeout_s:g} s."
            )
        )
    if state in (RolloutState.CANARY, RolloutState.WATCH):
        blocks.extend([DividerBlock(), ActionsBlock(elements=_rollout_buttons(rollout, policy))])
    return f"Deploy {rollout.service} {rollout.commit_sha[:8]}: {where}", within_limits(blocks)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _rollout_buttons(rollout: RolloutView, policy: DeployConfig) -> list[ButtonElement]:
    value = RolloutAction(rollout=rollout.id, state=rollout.state, step=rollout.step).encode()
    buttons = []
    if rollout.state is RolloutState.CANARY and rollout.operation is None:
        following = policy.steps[min(rollout.step + 1, len(policy.steps) - 1)]
        confirm = _confirm("Promote?", f"Send {following}% of traffic to the canary.", "Promote")
        buttons.append(
            button(f"Promote to {following}%", ActionId.ROLLOUT_PROMOTE, value, "primary", confirm)
        )
        if following < 100:
            confirm = _confirm("Promote to 100%?", "Send all traffic to the canary.", "Promote")
            buttons.append(
                button("Promote to 100%", ActionId.ROLLOUT_PROMOTE_FULL, value, None, confirm)
            )
    confirm = _confirm(
        "Roll back?", f"Send 100% of traffic back to {rollout.stable_revision}.", "Roll back"
    )
    buttons.append(button("Roll back", ActionId.ROLLOUT_ROLL_BACK, value, "danger", confirm))
    return buttons
