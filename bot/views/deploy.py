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
    clip,
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
from commands.deploy.verdict import (
    Analysis,
    Verdict,
    analysis_due,
    analysis_step,
    pct,
    step_percent,
)
from commands.postmortem.log_groups import group_lines
from config import DeployConfig
from infra.wording import plural, said, short_sha
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
ERROR_LINE_CHARS = 600  # one log line's share of the message (a stack trace is cut, not dropped)


def checklist_view(checklist: Checklist, blockers: list[str]) -> tuple[str, list[Block]]:
    commit = checklist.commit
    lines = [
        f"*Commit* `{commit.short}` {escape(commit.subject)} — {escape(commit.author)}",
        f"*Replaces* {escape(checklist.stable_revision)} "
        + (
            f"(runs `{escape(short_sha(checklist.deployed))}`)"
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
    if checklist.setback is not None:
        lines.append(
            f":warning: *This commit {escape(checklist.setback.what)}* on "
            f"{checklist.setback.at:%Y-%m-%d %H:%M} UTC: "
            f"{escape_but_mentions(checklist.setback.reason)}"
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
    """The rollout's one message; `now` says how long a canary revision has been in the making
    and when the next analysis is due."""
    state = rollout.state
    percent = step_percent(policy, rollout.step)
    creating = state is RolloutState.CANARY and rollout.operation is not None
    since = rollout.step_started_at or rollout.created_at
    waited = max(0, round(((now or since) - since).total_seconds()))
    where = {
        RolloutState.CANARY: f"creating revision… {waited} s"
        if creating
        else f"canary at {percent}%",
        RolloutState.WATCH: "100%, watched",
        RolloutState.ROLLING_BACK: "rolling back",
    }.get(state, said(state))
    steps = " → ".join(
        f"*{s}%*" if i == rollout.step and state is RolloutState.CANARY else f"{s}%"
        for i, s in enumerate(policy.steps)
    )
    commit = short_sha(rollout.commit_sha)
    blocks: list[Block] = [
        header(f"Deploy {rollout.service} {commit} · {where}"),
        context(
            f"{STATE_EMOJI[state]} rollout #{rollout.id} by {mention(rollout.requested_by)} · steps {steps} · "
            f"stable {escape(rollout.stable_revision)} · canary {escape(rollout.canary_revision or '—')}"
        ),
    ]
    if analysis is not None:
        blocks += _analysis_blocks(analysis, policy)
    live = state in (RolloutState.CANARY, RolloutState.WATCH) and not creating
    if live:
        blocks.append(context(_next_analysis(rollout, policy, now)))
    if rollout.reason:
        said_as = "Rolling back" if state is RolloutState.ROLLING_BACK else "Ended"
        blocks.append(section(f"*{said_as}:* {escape_but_mentions(rollout.reason)}"))
    if rollout.approvals:
        who = ", ".join(
            f"{mention(a.user)} ({step_percent(policy, a.step)}%)" for a in rollout.approvals
        )
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
    return f"Deploy {rollout.service} {commit}: {where}", within_limits(blocks)


def _analysis_blocks(analysis: Analysis, policy: DeployConfig) -> list[Block]:
    """The last analysis, named with the step it judged (the rollout may have moved on since)."""
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
    blocks: list[Block] = [
        section(f"*Last analysis, at {analysis_step(policy, analysis)}:* {verdict}\n{table}")
    ]
    if analysis.reasons:
        blocks.append(lines_section([f"• {escape(r)}" for r in analysis.reasons]))
    if analysis.output is not None and analysis.output.ok:  # a failing one is a reason above
        blocks.append(context(f"output: {escape(analysis.output.detail)}"))
    if analysis.errors:
        blocks.append(lines_section(error_lines(analysis)))
    return blocks


def error_lines(analysis: Analysis) -> list[str]:
    """The canary's ERROR lines the analysis read, each text once with its count and times."""
    read = plural(len(analysis.errors), "line")
    lines = [f"*Canary ERROR lines* (the newest {read} of the analysed window)"]
    for group in group_lines(analysis.errors):
        lines.append(f"`{escape(clip(group.said(), ERROR_LINE_CHARS))}`")
    return lines


def _next_analysis(rollout: RolloutView, policy: DeployConfig, now: datetime | None) -> str:
    """When the next analysis comes, at which step, and whether Promote waits for it."""
    due = analysis_due(policy, rollout.updated_at)
    wait = max(0, round((due - (now or rollout.updated_at)).total_seconds()))
    percent = step_percent(policy, rollout.step)
    line = f"next analysis at {percent}% due in {wait} s ({due:%H:%M:%S} UTC)"
    if rollout.state is not RolloutState.CANARY:
        return f":stopwatch: {line}"
    if rollout.failures:
        return f":stopwatch: {line}; Promote waits for a pass after the last analysis failed"
    if rollout.passed_step != rollout.step:
        return f":stopwatch: {line}; Promote waits until an analysis passes at {percent}%"
    return f":stopwatch: {line}; passed at {percent}%, so it may be promoted now"


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
