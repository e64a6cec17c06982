"""Production through the real Pulumi CLI: the whole lifecycle; destroy is refused by protection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.lifecycle import Lifecycle, timed, workspace_for
from tests.engine.workspace import Workspace

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from workspace_for("production", tmp_path_factory)


class TestProduction(Lifecycle):
    stack = "production"

    def test_destroy_is_refused_by_protection(self, ws: Workspace) -> None:
        result = timed("production:destroy", lambda: ws.pulumi("destroy", "--yes", "--stack", "production"))
        assert result.returncode != 0
        assert "protected" in result.output, result.output[-3000:]
        # Nothing stateful went: the databases and the volume are all still in state.
        urns = ws.pulumi("stack", "--stack", "production", "--show-urns").check().output
        for kind in ("DatabaseCluster", "Volume", "KubernetesCluster"):
            assert kind in urns, f"{kind} was destroyed"
