"""The /health worker process as the bot uses it: it builds reports, and shows them in Slack.

Two kinds of job (infra/worker_process.py runs them in one child, each on its own task):
- a HealthJob (commands/health_worker.py) gives back the report: a check's Details, a digest;
- a ShownReport builds the report and shows it in the message the bot already posted: progress
  and the final state are drawn and sent by the child, with a Slack client of its own (the bot's
  token and Web API URL, passed at spawn), so the bot's event loop spends nothing per update.
  The child streams Finishing just before the final state, for the bot to release the channel's
  claim; if the child dies the job runs again on a new one, into the same message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import describe
from bot.health_message import Finishing, ShownReport, show_report
from bot.live_message import LiveMessage
from bot.settings import SlackApi
from bot.slack_clients import web_client
from checks.registry import enabled_checks
from checks.result import CheckResult, HealthReport
from checks.runner import OnResult
from commands.errors import RequestError
from commands.health_worker import HealthJob, PlatformsRecipe, health_jobs
from config import Profile
from infra.worker_process import Handler, WorkerProcess

log = logging.getLogger("opsbot.health_worker")

Job = HealthJob | ShownReport
Progress = CheckResult | Finishing


class ReportWorker(WorkerProcess[Job, Progress, HealthReport | None]):
    """`report(job, on_result)` gives a report; `show(job, on_finishing)` shows one in Slack."""

    def __init__(
        self, profile: Profile, recipe: PlatformsRecipe, slack: SlackApi, *, deadline_s: float
    ) -> None:
        super().__init__(
            partial(report_jobs, profile, recipe, slack),
            name="opsbot-health-worker",
            what="report",
            deadline_s=deadline_s,
            log=log,
        )

    async def report(self, job: HealthJob, on_result: OnResult | None = None) -> HealthReport:
        def progress(value: Progress) -> None:
            if on_result is not None and isinstance(value, CheckResult):
                on_result(value)

        report = await self.run(job, progress)
        if not isinstance(report, HealthReport):
            raise TypeError(f"the report worker answered a report job with {report!r}")
        return report

    async def show(self, job: ShownReport, on_finishing: Callable[[], None]) -> None:
        """Until the report is shown in the job's message (or a failure to show it is raised)."""

        def progress(value: Progress) -> None:
            if isinstance(value, Finishing):
                on_finishing()

        await self.run(job, progress)


def report_jobs(
    profile: Profile, recipe: PlatformsRecipe, slack: SlackApi
) -> Handler[Job, Progress, HealthReport | None]:
    """In the child, once: what runs either kind of job."""
    reports = health_jobs(profile, recipe)
    clients: list[AsyncWebClient] = []  # one, opened on the first message shown

    async def one(job: Job, send: Callable[[Progress], None]) -> HealthReport | None:
        if isinstance(job, HealthJob):
            return await reports(job, send)
        if not clients:
            clients.append(web_client(slack))
        report_job = HealthJob(as_of=job.as_of, now=job.now, store_url=job.store_url)
        try:
            await show_report(
                LiveMessage(clients[0], job.channel, job.ts),
                job.as_of,
                enabled_checks(profile),
                job.queued,
                lambda on_result: reports(report_job, on_result),
                lambda: send(Finishing()),
            )
        except SlackApiError as exc:  # its response does not cross the pipe: what to tell does
            raise RequestError(describe(exc).text) from None
        return None

    return one
