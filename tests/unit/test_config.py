"""The profile is validated at start; every error names the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.registry import CHECK_NAMES, FACTORIES, build_checks
from config import ConfigError
from opsbot.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = '[platform]\nproject = "nba-props-platform"\nregion = "us-west2"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opsbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_profile_describes_the_platform() -> None:
    profile = load_profile(ROOT / "opsbot.toml")
    assert profile.platform.project == "nba-props-platform"
    assert profile.platform.region == "us-west2"
    assert {s.name for s in profile.services} >= {"prediction-worker", "nba-grading-service"}
    worker = next(s for s in profile.services if s.name == "prediction-worker")
    assert worker.source_paths == ["predictions/worker", "predictions/shared", "shared"]
    assert profile.checks.vegas_line_coverage.ok_min == 35.0
    assert [c.name for c in build_checks(profile)] == list(CHECK_NAMES)


def test_every_configurable_check_has_an_implementation() -> None:
    assert set(FACTORIES) == set(CHECK_NAMES)


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        (
            '[checks.vegas_line_coverage]\nok_min = "high"\n',
            "checks.vegas_line_coverage.ok_min",
            "valid number",
        ),
        (
            "[checks.vegas_line_coverage]\nokmin = 3\n",
            "checks.vegas_line_coverage.okmin",
            "unknown key",
        ),
        (
            "[checks.bdb_coverage]\nok_min = 40\nwarn_min = 60\n",
            "checks.bdb_coverage",
            "warn_min must not exceed ok_min",
        ),
        ('[tables]\nschedule = "x; DROP TABLE y"\n', "tables.schedule", "dataset.table"),
        ('[health]\nchecks = ["vegas"]\n', "health.checks", "unknown check"),
        (
            '[checks.grading_completeness]\naction = "regrade $day"\n',
            "checks.grading_completeness.action",
            "placeholder",
        ),
    ],
)
def test_an_invalid_profile_names_the_key_and_the_reason(
    tmp_path: Path, extra: str, key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_profile(write(tmp_path, MINIMAL + extra))
    message = str(error.value)
    assert f": {key}: " in message
    assert reason in message


def test_missing_file_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_profile(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile(write(tmp_path, "[platform\n"))


def test_config_path_falls_back_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, MINIMAL.replace("us-west2", "europe-west1"))
    monkeypatch.setenv("OPSBOT_CONFIG", str(path))
    assert load_profile().platform.region == "europe-west1"


def test_a_query_timeout_longer_than_its_check_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + "[bigquery]\nquery_timeout_s = 60\n[health]\ncheck_timeout_s = 30\n"
    with pytest.raises(ConfigError, match=r"must not exceed health\.check_timeout_s"):
        load_profile(write(tmp_path, text))


@pytest.mark.parametrize(
    ("snippet", "key"),
    [
        ('[[services]]\nname = "x"\nsource_paths = ["../outside"]\n', "services.0.source_paths.0"),
        ('[[services]]\nname = "x"\nsource_paths = ["--all"]\n', "services.0.source_paths.0"),
        ("[drift]\nwarn_age_hours = 30\ncritical_age_hours = 24\n", "drift"),
        ('[drift]\naction = "deploy $svc"\n', "drift.action"),
        ('[git]\nbranch = "main; rm -rf"\n', "git.branch"),
    ],
)
def test_bad_drift_and_git_settings_name_their_key(tmp_path: Path, snippet: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f": {key}: "):
        load_profile(write(tmp_path, MINIMAL + snippet))


def test_a_service_may_override_the_drift_thresholds(tmp_path: Path) -> None:
    profile = load_profile(
        write(
            tmp_path,
            MINIMAL
            + "[drift]\ncritical_commits = 20\n"
            + '[[services]]\nname = "busy"\nsource_paths = ["busy/"]\n'
            + "[services.drift]\ncritical_commits = 60\n"
            + '[[services]]\nname = "quiet"\nsource_paths = ["quiet"]\n',
        )
    )
    busy, quiet = profile.services
    assert busy.source_paths == ["busy"]  # a trailing slash is the same directory
    assert profile.drift_thresholds(busy).critical_commits == 60
    assert profile.drift_thresholds(quiet).critical_commits == 20


def test_every_problem_of_a_profile_is_listed_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "opsbot.toml"
    path.write_text(
        '[platform]\nproject = "nba-props-platform"\nregion = "us-west2"\n'
        "[checks.vegas_line_coverage]\nok_min = 150\n[deploy]\nintervall_s = 3\n"
    )
    with pytest.raises(ConfigError) as refused:
        load_profile(path)
    said = str(refused.value)
    assert "2 problems" in said and "more)" not in said
    assert "checks.vegas_line_coverage.ok_min: Input should be less than or equal to 100" in said
    assert "deploy.intervall_s: unknown key (check the spelling)" in said
