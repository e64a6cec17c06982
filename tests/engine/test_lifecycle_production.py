"""Production through the real Pulumi CLI: the whole lifecycle; destroy is refused by protection.

The workspace enables EKS and seed 004's AWS tenant beside the three DigitalOcean tenants (the committed
stack file leaves EKS off): one lifecycle proves both clouds' sides of the stack, at the cost of the AWS
resources rather than of a second whole lifecycle (tests/engine/lifecycle.py ``with_aws_tenant``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine.lifecycle import RDS, REPLICATION_GROUP, AwsTenantLifecycle, provider_log, timed, workspace_for
from tests.engine.workspace import Workspace

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from workspace_for("production", tmp_path_factory, aws_tenant=True)


class TestProduction(AwsTenantLifecycle):
    stack = "production"

    def test_droplet_replacement_detaches_the_volume_before_attaching_it_again(
        self, ws: Workspace, record_property: Any
    ) -> None:
        """A user-data change replaces the monitoring droplet. A DigitalOcean volume attaches to one
        droplet at a time: the old attachment must be deleted before the new one is created, and the
        volume itself (the data) must never be replaced."""
        ws.pulumi("config", "set", "--stack", "production", "--path", "platform:monitoring.retentionDays", "45").check()
        start = len(provider_log(ws))
        result = timed(
            "production:replace-droplet",
            lambda: ws.pulumi("up", "--yes", "--stack", "production", *ws.policy_args("production")),
            record_property,
        )
        result.check()
        calls = [c for c in provider_log(ws)[start:] if c["method"] in ("Create", "Delete") and not c.get("preview")]

        def first(method: str, kind: str) -> int:
            return next(
                i for i, c in enumerate(calls) if c["method"] == method and f"::{kind}::" in c["urn"].replace("$", "::")
            )

        attachment = "digitalocean:index/volumeAttachment:VolumeAttachment"
        droplet = "digitalocean:index/droplet:Droplet"
        assert first("Create", droplet) >= 0 and first("Delete", droplet) >= 0, calls
        assert first("Delete", attachment) < first("Create", attachment), calls
        volumes = [c for c in calls if "digitalocean:index/volume:Volume::" in c["urn"]]
        assert volumes == [], volumes
        ws.pulumi("preview", "--expect-no-changes", "--stack", "production").check()

    def test_destroy_is_refused_by_protection(self, ws: Workspace, record_property: Any) -> None:
        result = timed(
            "production:destroy", lambda: ws.pulumi("destroy", "--yes", "--stack", "production"), record_property
        )
        assert result.returncode != 0
        assert "protected" in result.output, result.output[-3000:]
        # Nothing stateful went: the databases and the volume are all still in state.
        urns = ws.pulumi("stack", "--stack", "production", "--show-urns").check().output
        for kind in ("DatabaseCluster", "Volume", "KubernetesCluster", RDS, REPLICATION_GROUP):
            assert kind in urns, f"{kind} was destroyed"
