"""One image path for a commit, from the profile: the short SHA as its tag (issue 31: 19), and a
fault plan's `fail_images` still naming it however long the commit it lists."""

from __future__ import annotations

from adapters.cloudrun_model import build_of
from config import DeployConfig
from sandbox.faults import CloudRunFaults

SHA = "abc1234d" + "5" * 32


def test_a_build_is_tagged_with_the_short_sha_in_the_platforms_repository() -> None:
    """opsbot pushed `…/nba-props-platform/services/<service>:<full sha>`, where docs/platform.md
    and the seeded revisions have `…/nba-props/<service>:<short sha>`."""
    image = build_of(DeployConfig().image, "nba-scrapers", SHA).image
    assert image == "us-west2-docker.pkg.dev/nba-props-platform/nba-props/nba-scrapers:abc1234d"


def test_fail_images_names_the_short_tag_by_any_prefix_of_its_commit_or_the_whole_sha() -> None:
    image = build_of(DeployConfig().image, "nba-scrapers", SHA).image
    for listed in ("abc1234", "abc1234d", "abc1234d55", SHA):
        assert CloudRunFaults(fail_images=[listed]).image_fails(image), listed
    assert not CloudRunFaults(fail_images=["abc1234e"]).image_fails(image)
    unlabelled = "us-west2-docker.pkg.dev/nba-props-platform/nba-props/nba-scrapers:r47"
    assert not CloudRunFaults(fail_images=["r47abcdef"]).image_fails(unlabelled)  # not a SHA
