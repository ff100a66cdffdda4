"""`opsbot regrade`: a grading backfill's plan, then (with --yes) the backfill, optionally waited on."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from cli.layout import Column, print_table, print_wrapped
from cli.options import AsOption, ConfigOption, JsonOption, SandboxOption, announce, who
from cli.state import opened_store
from cli.terminal import emit_json, report_console
from config import resolve_profile_path
from infra.wording import plural
from infra.wording import said as state_words
from opsbot.platform import open_platform
from opsbot.profile import load_profile
from store.backfill_views import ENDED, DateState

if TYPE_CHECKING:
    from commands.regrade.plan import RegradePlan
    from store.backfill_views import BackfillView

POLL_S = 0.5
EXIT_SOME_FAILED = 1


def regrade(
    start: Annotated[str, typer.Argument(help="First game date (YYYY-MM-DD).", show_default=False)],
    end: Annotated[
        str | None, typer.Argument(help="Last game date (default: START).", show_default=False)
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    include_graded: Annotated[
        bool, typer.Option("--include-graded", help="Regrade fully graded dates too.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Start the backfill.")] = False,
    as_user: AsOption = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until every date has ended.")] = False,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Plan a grading backfill of START..END (each date: regrade, or skip and why; the bytes
    grading will read, estimated by a dry run); with --yes, publish one trigger per date, a few at
    a time, and with --wait follow them to the end. Exit 0 when planned or all done, 1 when a
    date failed or timed out, 3 when refused."""
    from commands.regrade.completions import take_completions
    from commands.regrade.engine import RegradeTools, pump, submit
    from commands.regrade.plan import parse_range, plan_regrade
    from store.backfills import Backfills

    first, last = parse_range([start, *([end] if end else [])])
    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    requester = who(as_user) if yes else ""
    with (
        open_platform(profile, profile_path, sandbox=sandbox, announce=announce) as platform,
        opened_store(profile, profile_path, sandbox, platform.clock, platform.store_url) as store,
    ):
        backfills = Backfills(store.database, platform.clock)
        warehouse = platform.warehouse
        today = platform.now.astimezone(ZoneInfo(profile.platform.game_timezone)).date()
        plan = plan_regrade(
            profile,
            warehouse,
            first,
            last,
            today=today,
            include_graded=include_graded,
            in_flight=backfills.in_flight,
            estimate=getattr(warehouse, "estimate", lambda query: 0),
        )
        if dry_run or not yes:
            _show(plan, None, as_json)
            if not as_json and not dry_run:
                report_console().print(
                    "start it with --yes --as YOUR_SLACK_ID (add --wait to follow it)"
                )
            return
        tools = RegradeTools(backfills, platform.pubsub(), warehouse, platform.clock)
        backfill, created = submit(
            profile, tools, plan, requester, reason="opsbot regrade (terminal)"
        )
        if not as_json:
            said = "started" if created else "already started by the same request"
            report_console().print(
                f"backfill #{backfill.id} {said}: {plural(len(backfill.dates), 'date')}"
            )
        shown = ""
        while wait and not backfill.ended:
            take_completions(profile, tools)
            backfill = pump(profile, tools, backfill.id)
            line = _progress(backfill)
            if line != shown and not as_json:
                report_console().print(line)
                shown = line
            if not backfill.ended:
                time.sleep(POLL_S)
        _show(plan, backfill, as_json)
        if backfill.count(DateState.FAILED, DateState.TIMED_OUT):
            raise typer.Exit(EXIT_SOME_FAILED)


def _progress(backfill: BackfillView) -> str:
    done = backfill.count(*ENDED)
    states = ", ".join(f"{n} {state_words(s)}" for s in DateState if (n := backfill.count(s)))
    return f"  backfill #{backfill.id}: {done}/{len(backfill.dates)} ended ({states})"


def _rows(plan: RegradePlan, backfill: BackfillView | None) -> list[dict[str, Any]]:
    states = {d.game_date: d for d in backfill.dates} if backfill else {}
    rows = []
    for day in plan.dates:
        ran = states.get(day.day.isoformat())
        rows.append(
            {
                "date": day.day.isoformat(),
                "action": day.action,
                "reason": day.reason,
                "state": ran.state if ran else ("planned" if day.regrade else "skipped"),
                "graded_count": ran.graded_count if ran else None,
                "mae": ran.mae if ran else None,
                "detail": (ran.detail or None) if ran else None,
            }
        )
    return rows


def _show(plan: RegradePlan, backfill: BackfillView | None, as_json: bool) -> None:
    rows = _rows(plan, backfill)
    if as_json:
        emit_json(
            {
                "backfill": backfill.id if backfill else None,
                "estimate_bytes": plan.estimate_bytes,
                "dates": [{k: v for k, v in r.items() if k != "detail"} for r in rows],
            }
        )
        return
    console = report_console()
    models = {d.day.isoformat(): d for d in plan.dates}
    cells = []
    for row in rows:
        day = models[row["date"]]
        graded = ", ".join(f"{m.model} {m.graded_pct:g}%" for m in day.models) or "—"
        cells.append(
            [
                row["date"],
                row["action"],
                state_words(row["state"]),
                str(row["graded_count"]) if row["graded_count"] is not None else escape(graded),
                f"{row['mae']:.2f}" if row["mae"] is not None else "—",
                escape(row["reason"] or row["detail"] or ""),
            ]
        )
    print_table(console, f"regrade {plan.start}..{plan.end}", COLUMNS, cells)
    gigabytes = plan.estimate_bytes / 1e9
    print_wrapped(
        console,
        f"{len(plan.to_regrade)} of {plural(len(plan.dates), 'date')} to regrade; grading will "
        f"read about {gigabytes:.3f} GB (an estimate: a BigQuery dry run of what grading reads)",
    )


COLUMNS = (
    Column("date", whole=True),
    Column("action", whole=True),
    Column("state", whole=True),
    Column("graded"),
    Column("MAE", whole=True, justify="right"),
    Column("why"),
)
