"""Grafana: the seed's overview dashboard with its six panels, the cluster and database dashboards,
every query parseable by promtool, provisioning files well-formed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from observability.grafana import (
    DASHBOARDS,
    DASHBOARDS_DIR,
    DATASOURCE_UID,
    render_dashboard_provider,
    render_dashboards,
    render_datasources,
)
from tests.observability.support import assert_golden, run_tool

SEED_PANELS = [
    (1, "API Request Rate", "stat", {"h": 8, "w": 6, "x": 0, "y": 0}),
    (2, "Response Time", "stat", {"h": 8, "w": 6, "x": 6, "y": 0}),
    (3, "Active Workers", "stat", {"h": 8, "w": 6, "x": 12, "y": 0}),
    (4, "Queue Length", "timeseries", {"h": 8, "w": 6, "x": 18, "y": 0}),
    (5, "Niches Discovered", "timeseries", {"h": 8, "w": 12, "x": 0, "y": 8}),
    (6, "Scraping Success Rate", "timeseries", {"h": 8, "w": 12, "x": 12, "y": 8}),
]


def dashboards() -> dict[str, dict]:
    return {name: json.loads(text) for name, text in render_dashboards().items()}


def test_three_dashboards_are_rendered_as_valid_json() -> None:
    assert sorted(dashboards()) == [
        "cluster-overview.json",
        "databases-overview.json",
        "niche-discovery-overview.json",
    ]


def test_overview_has_the_seed_title_tags_refresh_and_six_panels() -> None:
    overview = dashboards()["niche-discovery-overview.json"]
    assert overview["title"] == "Niche Discovery Engine Overview"
    assert overview["tags"] == ["niche-discovery", "overview"]
    assert overview["refresh"] == "30s"
    assert overview["time"] == {"from": "now-1h", "to": "now"}
    got = [(p["id"], p["title"], p["type"], p["gridPos"]) for p in overview["panels"]]
    assert got == SEED_PANELS


def test_overview_queries_follow_the_seed() -> None:
    exprs = {p["title"]: p["targets"][0]["expr"] for p in dashboards()["niche-discovery-overview.json"]["panels"]}
    assert exprs["API Request Rate"] == "sum(rate(http_requests_total[5m]))"
    assert "http_request_duration_seconds_bucket" in exprs["Response Time"]
    assert "celery_workers_active" in exprs["Active Workers"]
    assert "celery_queue_length" in exprs["Queue Length"]
    assert "increase(niches_discovered_total[1h])" in exprs["Niches Discovered"]
    assert "sum by (platform)" in exprs["Scraping Success Rate"]


def test_cluster_and_database_dashboards_have_panels() -> None:
    by_uid = {d.uid: d for d in DASHBOARDS}
    assert len(by_uid["cluster-overview"].panels) >= 6
    assert len(by_uid["databases-overview"].panels) >= 6


def test_every_panel_uses_the_provisioned_datasource() -> None:
    for dashboard in dashboards().values():
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            assert panel["targets"], panel["title"]


def test_panel_ids_are_unique_within_each_dashboard() -> None:
    for dashboard in dashboards().values():
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    # promtool has no "parse this expression" command; a recording rule per query is parsed the same way.
    rules = [
        {"record": f"dashboard:query:{i}", "expr": target["expr"]}
        for i, target in enumerate(t for d in dashboards().values() for p in d["panels"] for t in p["targets"])
    ]
    (tmp_path / "queries.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run_tool("promtool", "check", "rules", "queries.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_datasource_is_the_local_prometheus_and_not_editable() -> None:
    (source, _) = yaml.safe_load(render_datasources("http://localhost:9090"))["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["url"] == "http://localhost:9090"
    assert source["isDefault"] is True
    assert source["editable"] is False


def test_logs_are_searchable_through_a_provisioned_local_loki_datasource() -> None:
    (_, logs) = yaml.safe_load(render_datasources("http://localhost:9090"))["datasources"]
    assert logs["type"] == "loki"
    assert logs["url"] == "http://localhost:3100"
    assert logs["isDefault"] is False
    assert logs["editable"] is False


def test_dashboards_are_provisioned_read_only_from_their_directory() -> None:
    (provider,) = yaml.safe_load(render_dashboard_provider())["providers"]
    assert provider["options"]["path"] == DASHBOARDS_DIR
    assert provider["allowUiUpdates"] is False


@pytest.mark.parametrize("name", sorted(render_dashboards()))
def test_dashboard_matches_golden(name: str) -> None:
    assert_golden(f"dashboards/{name}", render_dashboards()[name])
