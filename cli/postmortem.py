"""`opsbot postmortem`: an incident's postmortem (stored, or drafted now) as text, Markdown or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.options import ConfigOption, JsonOption, SandboxOption, announce
from cli.state import opened_store
from cli.terminal import emit_json, report_console
from commands.errors import RequestError
from config import resolve_profile_path
from opsbot.platform import open_platform
from opsbot.profile import load_profile

EXIT_NOTHING = 3  # an unknown rollout, a healthy date: nothing to write about


def postmortem(
    rollout: Annotated[
        int | None, typer.Option("--rollout", metavar="N", help="The rollout's number.")
    ] = None,
    on_date: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="A data incident around this game day."),
    ] = None,
    last: Annotated[
        bool, typer.Option("--last", help="The newest rollback or failed rollout.")
    ] = False,
    as_markdown: Annotated[
        bool, typer.Option("--markdown", help="Print Markdown under the team's headings.")
    ] = False,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """An incident's postmortem: the stored one with people's edits, else a draft made now from
    the audit log, Cloud Run, Cloud Logging, git and the checks. Exit 3 when there is nothing
    to write about (an unknown rollout, a healthy date).
    """
    from commands.postmortem.build import Subject, document, resolve
    from commands.postmortem.render import as_json as document_json
    from commands.postmortem.render import markdown
    from opsbot.postmortem import postmortem_tools

    asked = [
        flag
        for flag, given in (("--rollout", rollout), ("--date", on_date), ("--last", last))
        if given
    ]
    if len(asked) != 1:
        raise RequestError("name one incident: --rollout N, --date YYYY-MM-DD or --last")
    if as_markdown and as_json:
        raise RequestError("choose --markdown or --json, not both")
    if on_date is not None:
        from commands.health import parse_game_date

        subject: Subject | None = Subject("date", parse_game_date(on_date).isoformat())
    else:
        subject = Subject("rollout", str(rollout)) if rollout is not None else None
    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    with (
        open_platform(profile, profile_path, sandbox=sandbox, announce=announce) as platform,
        opened_store(profile, profile_path, sandbox, platform.clock, platform.store_url) as store,
    ):
        tools = postmortem_tools(platform.deploy_tools(store), lambda: platform)
        if subject is None:
            subject = resolve(tools, None)
        announce(f"postmortem of {subject.words}")
        doc = document(tools, subject)
        today = platform.now.date()
    if doc is None:
        what = (
            f"rollout #{subject.key} is unknown or never started"
            if subject.kind == "rollout"
            else f"every check was fine on {subject.key}"
        )
        report_console().print(f"nothing to write about: {what}")
        raise typer.Exit(EXIT_NOTHING)
    timezone = profile.platform.human_timezone
    if as_json:
        emit_json(document_json(doc, timezone, today))
        return
    text = markdown(doc, timezone, today, profile.slack.people)  # people named, never `<@U…>`
    if as_markdown:
        typer.echo(text, nl=False)
        return
    from rich.markdown import Markdown  # 80 ms of import, only for this command's text form

    report_console().print(Markdown(text))
