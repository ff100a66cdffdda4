"""The platform a command talks to: the real one (ADC), or the embedded sandbox on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from adapters.bigquery import BigQueryWarehouse
from adapters.cloudrun import CloudRun
from adapters.git import GitRepo
from adapters.pubsub import PubSub
from adapters.warehouse import Warehouse
from checks.drift_model import DriftSources
from commands.main_fetch import MainFetcher
from commands.platform import Platform, PlatformUnavailable
from config import Profile
from infra.clock import utc_now
from infra.once import Once

if TYPE_CHECKING:
    from checks.result import CheckResult
    from commands.deploy.tools import DeployTools
    from sandbox.attach import SandboxAddress
    from sandbox.platform import RunningSandbox
    from store.rollouts import Store


T = TypeVar("T")
SANDBOX_DEPLOY = {  # a demo in minutes
    "interval_s": 15.0,
    "min_requests": 20,
    "watch_minutes": 0.5,
    "operation_poll_s": 1.0,
}
NO_CREDENTIALS = (
    "no Google credentials: run `gcloud auth application-default login`, or try --sandbox"
)


def repo_path(profile: Profile, profile_path: Path) -> Path:
    """git.path, with ~ expanded and a relative path taken from the profile's directory."""
    path = Path(profile.git.path).expanduser()
    return path if path.is_absolute() else (profile_path.parent / path).resolve()


def _credentials_guard(open_client: Callable[[], T]) -> T:
    from google.auth.exceptions import DefaultCredentialsError

    try:
        return open_client()
    except DefaultCredentialsError:
        raise PlatformUnavailable(NO_CREDENTIALS) from None


def _cloud_run(profile: Profile) -> CloudRun:
    return _credentials_guard(
        lambda: CloudRun.connect(
            project=profile.platform.project,
            region=profile.platform.region,
            timeout_s=profile.drift.cloud_run_timeout_s,
        )
    )


def _production(
    profile: Profile,
    profile_path: Path,
    cloud_run: Callable[[], CloudRun] | None = None,
    fetcher: MainFetcher | None = None,
    warehouse: Callable[[], Warehouse] | None = None,
) -> Platform:
    """The real platform. A serving bot's requests share `cloud_run` and `warehouse` (one client
    each) and `fetcher` (main fetched in the background); a terminal command opens its own and
    fetches main first."""

    def open_drift_sources() -> DriftSources:
        git = profile.git
        repo = GitRepo.open(repo_path(profile, profile_path), branch=git.branch, remote=git.remote)
        client = cloud_run() if cloud_run else _cloud_run(profile)
        if fetcher is not None:
            return DriftSources(client, repo, fetcher.fresh_as_of(), background_fetch=True)
        if git.fetch:
            repo.fetch(git.fetch_timeout_s)
        return DriftSources(client, repo)

    def open_warehouse() -> Warehouse:
        return _credentials_guard(lambda: BigQueryWarehouse.from_profile(profile))

    def open_deploy_tools(store: Store) -> DeployTools:
        sources = platform.drift_sources()
        now = utc_now
        return deploy_tools(
            profile, sources.cloud_run, sources.repo, store, now, platforms=lambda: platform
        )

    platform = Platform(
        profile,
        utc_now(),
        warehouse or open_warehouse,
        open_drift_sources,
        open_deploy_tools,
        clock=utc_now,
        open_pubsub=lambda: _credentials_guard(
            lambda: PubSub.connect(
                project=profile.platform.project, timeout_s=profile.drift.cloud_run_timeout_s
            )
        ),
    )
    return platform


@contextmanager
def open_platform(
    profile: Profile,
    profile_path: Path,
    *,
    sandbox: bool,
    announce: Callable[[str], None] = lambda message: None,
    reads_only: bool = False,
) -> Iterator[Platform]:
    """The platform for one command; with `sandbox`, emulators started for it and stopped after
    (`reads_only`: only those /health and /drift read, when the command changes nothing)."""
    if not sandbox:
        yield _production(profile, profile_path)
        return
    with started_sandbox(announce, reads_only=reads_only) as running:
        yield sandbox_platforms(profile, running)()


@contextmanager
def started_sandbox(
    announce: Callable[[str], None], *, attach: bool = True, reads_only: bool = False
) -> Iterator[RunningSandbox]:
    """The sandbox for one command: the running `opsbot sandbox`'s when there is one (and
    `attach`), else its own emulators, started and announced here and stopped on exit."""
    try:
        from sandbox.attach import find_running
        from sandbox.platform import Sandbox
    except ImportError as exc:
        raise PlatformUnavailable(
            f"the sandbox needs its extra: pip install 'opsbot[sandbox]' ({exc.name} is missing)"
        ) from None
    running = find_running() if attach else None
    if running is not None:
        announce(
            f"sandbox: attached to the running opsbot sandbox (pid {running.address.pid}): its "
            f"Cloud Run, warehouse, store and clock ({running.clock():%Y-%m-%d %H:%M} UTC)"
        )
        yield running
        return
    with Sandbox(reads_only=reads_only) as own:
        assert own.startup is not None and own.repo_path is not None
        how = "built the demo season" if own.startup.seeded_now else "from the seed cache"
        announce(
            f"sandbox: BigQuery {own.bigquery_url}, Cloud Run {own.cloud_run_url}, "
            f"repo {own.repo_path}; clock {own.now:%Y-%m-%d %H:%M} UTC; "
            f"started in {own.startup.seconds:.2f}s ({how})"
        )
        yield own


def running_sandbox_store() -> str | None:
    """The store of the `opsbot sandbox` running now, or None when none runs."""
    try:
        from sandbox.attach import find_running
    except ImportError:
        return None
    running = find_running()
    return running.store_url if running is not None else None


def production_platforms(profile: Profile, profile_path: Path) -> Callable[[], Platform]:
    """A Platform per request for a long-running bot: one BigQuery and one Cloud Run client per
    process (each opens its connections once); main fetched in the background, never in a
    request (`[git] fetch_interval_s`)."""
    shared_warehouse = Once(lambda: _production(profile, profile_path).warehouse)
    shared_cloud_run = Once(lambda: _cloud_run(profile))
    git = profile.git
    fetcher = None
    if git.fetch and git.remote is not None:
        fetcher = MainFetcher(
            lambda: GitRepo.open(
                repo_path(profile, profile_path), branch=git.branch, remote=git.remote
            ).fetch(git.fetch_timeout_s),
            git.fetch_interval_s,
        )

    def platform() -> Platform:
        return _production(profile, profile_path, shared_cloud_run, fetcher, shared_warehouse)

    return platform


def attached_sandbox_platforms(profile: Profile, address: SandboxAddress) -> Callable[[], Platform]:
    """sandbox_platforms in another process (the report worker's), through the sandbox's address."""
    from sandbox.attach import AttachedSandbox
    from sandbox.faults import FaultPlan

    attached = AttachedSandbox(
        address,
        datetime.fromisoformat(address.now_at_start),
        FaultPlan.model_validate(address.faults),
    )
    return sandbox_platforms(profile, attached)


def sandbox_platforms(profile: Profile, running: RunningSandbox) -> Callable[[], Platform]:
    """A Platform per request on the sandbox, at the sandbox clock's time of the request; one
    BigQuery and one Cloud Run client for all of them, as a serving bot has."""
    warehouse = BigQueryWarehouse.from_profile(profile, endpoint=running.bigquery_url)
    cloud_run = Once(lambda: sandbox_cloud_run(profile, running))
    return lambda: Platform(
        profile,
        running.clock(),
        lambda: warehouse,
        lambda: sandbox_drift_sources(profile, running, cloud_run()),
        lambda store: sandbox_deploy_tools(profile, running, store),
        clock=running.clock,
        store_url=getattr(running, "store_url", None),  # an attached sandbox's shared store
        open_pubsub=lambda: PubSub.connect(
            project=profile.platform.project, timeout_s=10.0, endpoint=running.pubsub_url
        ),
    )


def sandbox_cloud_run(profile: Profile, running: RunningSandbox) -> CloudRun:
    return CloudRun.connect(
        project=profile.platform.project,
        region=profile.platform.region,
        timeout_s=profile.drift.cloud_run_timeout_s,
        operation_timeout_s=profile.deploy.revision_ready_timeout_s,
        endpoint=running.cloud_run_url,
    )


def sandbox_drift_sources(
    profile: Profile, running: RunningSandbox, cloud_run: CloudRun | None = None
) -> DriftSources:
    """The sandbox's Cloud Run emulator (`cloud_run`, else a new client) and demo repo (read as
    it is: nothing to fetch)."""
    assert running.repo_path is not None, "sandbox not started"
    client = cloud_run or sandbox_cloud_run(profile, running)
    return DriftSources(client, GitRepo.open(running.repo_path, branch=profile.git.branch))


def deploy_tools(
    profile: Profile,
    cloud_run: CloudRun,
    repo: GitRepo,
    store: Store,
    clock: Callable[[], datetime],
    *,
    monitoring_endpoint: str | None = None,
    logging_endpoint: str | None = None,
    platforms: Callable[[], Platform] | None = None,
    refresh_repo: Callable[[], None] = lambda: None,
) -> DeployTools:
    """What rollouts act with: the real clients, or with endpoints the sandbox's emulators."""
    from adapters.cloud_logging import CloudLogging
    from adapters.monitoring import Monitoring
    from commands.deploy.tools import DeployTools

    project = profile.platform.project
    return DeployTools(
        cloud_run=cloud_run,
        monitoring=Monitoring.connect(
            project=project,
            timeout_s=profile.drift.cloud_run_timeout_s,
            endpoint=monitoring_endpoint,
        ),
        logs=CloudLogging.connect(project=project, endpoint=logging_endpoint),
        repo=repo,
        store=store,
        clock=clock,
        data_check=data_checks(profile, platforms) if platforms else lambda service: None,
        refresh_repo=refresh_repo,
        revision_output=revision_output(profile, platforms) if platforms else None,
    )


def revision_output(
    profile: Profile, platforms: Callable[[], Platform]
) -> Callable[[list[str], datetime, datetime], dict[str, int]]:
    """Predictions each revision wrote, read from the platform's warehouse."""
    from checks.revision_output import predictions_by_revision

    def written(revisions: list[str], since: datetime, until: datetime) -> dict[str, int]:
        return predictions_by_revision(platforms().warehouse, profile, revisions, since, until)

    return written


def data_checks(
    profile: Profile, platforms: Callable[[], Platform]
) -> Callable[[str], CheckResult | None]:
    """Runs a service's post-deploy data check (one check of the library) on the platform."""
    import asyncio

    from commands.health import run_health

    def run(service: str) -> CheckResult | None:
        config = profile.service(service)
        if config is None or config.data_check is None:
            return None
        platform = platforms()
        report = asyncio.run(
            run_health(
                profile,
                platform.warehouse,
                now=platform.now,
                checks=[config.data_check],
                drift_sources=platform.drift_sources,
            )
        )
        return report.results[0]

    return run


def sandbox_deploy_tools(profile: Profile, running: RunningSandbox, store: Store) -> DeployTools:
    sources = sandbox_drift_sources(profile, running)
    return deploy_tools(
        profile,
        sources.cloud_run,
        sources.repo,
        store,
        running.clock,
        monitoring_endpoint=running.monitoring_endpoint,
        logging_endpoint=running.logging_url,
        platforms=sandbox_platforms(profile, running),
    )
