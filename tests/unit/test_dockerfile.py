"""The image builds on the base it names: the Debian release and the package pins agree."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

# Debian's git in each release python:3.11-slim-* images are built on.
GIT_OF_RELEASE = {"bookworm": "1:2.39.", "trixie": "1:2.47."}
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_every_stage_names_its_debian_release_and_the_git_pin_is_that_releases() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    releases = {re.sub(r"@sha256:.*", "", base).rsplit("-", 1)[-1] for base in bases}
    assert releases <= set(GIT_OF_RELEASE), f"a base without a release codename: {bases}"
    assert len(releases) == 1, f"stages on different releases: {bases}"
    (pin,) = re.findall(r"git=(\S+)", DOCKERFILE)
    assert pin.startswith(GIT_OF_RELEASE[releases.pop()])


def _docker_runs() -> bool:
    docker = shutil.which("docker")
    return (
        docker is not None
        and subprocess.run(
            [docker, "info"], capture_output=True, timeout=30, check=False
        ).returncode
        == 0
    )


@pytest.mark.skipif(not _docker_runs(), reason="no Docker daemon here: the image is not built")
def test_the_image_builds_and_runs_opsbot_and_git() -> None:
    subprocess.run(["docker", "build", "--quiet", "--tag", "opsbot:test", str(ROOT)], check=True)
    version = subprocess.run(
        ["docker", "run", "--rm", "opsbot:test", "opsbot", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("opsbot ")
