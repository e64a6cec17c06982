"""The architecture diagram: every component drawn, grouped by cloud/network/cluster, data paths from the wiring."""

from __future__ import annotations

import html
import shutil
import subprocess

import pytest

from diagram import Architecture, Node, build, dot, mermaid
from diagram.publish import render_svg, svg_digest
from tests.harness import StackRun


def components(run: StackRun) -> list[str]:
    """Every component but the composition root's grouping one (DigitalOceanPlatform: its children are drawn)."""
    return [r.urn for r in run.resources if not r.custom and not r.type.endswith(":DigitalOceanPlatform")]


def arch_of(run: StackRun) -> Architecture:
    return build(run.stack, run.resources)


def label(arch: Architecture, component_class: str, name_suffix: str = "") -> str:
    """The id of the node drawing the one component of that class (and name suffix)."""
    (node,) = [n for n in arch.nodes if n.kind == component_class and n.urn.endswith(name_suffix)]
    return node.id


def edges(arch: Architecture) -> dict[tuple[str, str], str]:
    return {(e.source, e.target): e.label for e in arch.edges}


@pytest.mark.parametrize("fixture", ["staging", "production", "production_eks"])
def test_every_component_of_the_stack_is_drawn(fixture: str, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    arch = arch_of(run)
    drawn = arch.ids_of_components()
    assert set(components(run)) <= set(drawn)
    text, graph = mermaid(arch), dot(arch)
    for urn in components(run):
        assert drawn[urn] in text
        assert f'"{drawn[urn]}"' in graph or f'"cluster_{drawn[urn]}"' in graph


def test_the_platform_wrapper_is_not_drawn_but_its_children_are(staging: StackRun) -> None:
    arch = arch_of(staging)
    (platform,) = [r for r in staging.resources if r.type.endswith(":DigitalOceanPlatform")]
    children = [r.urn for r in staging.resources if not r.custom and r.parent == platform.urn]
    assert len(children) >= 8 and set(children) <= set(arch.ids_of_components())
    assert platform.urn not in arch.ids_of_components()


def test_groups_nest_cloud_network_cluster_namespace(production: StackRun) -> None:
    arch = arch_of(production)
    by_id = {g.id: g for g in arch.groups}

    def chain(group_id: str | None) -> list[str]:
        kinds = []
        while group_id:
            kinds.append(by_id[group_id].kind)
            group_id = by_id[group_id].parent
        return kinds

    workload = next(n for n in arch.nodes if n.kind == "Workload")
    assert chain(workload.group) == ["namespace", "cluster", "network", "cloud"]
    postgres = next(n for n in arch.nodes if n.kind == "PostgresDatabase")
    assert chain(postgres.group) == ["network", "cloud"]
    vault = next(n for n in arch.nodes if n.kind == "BackupVault")
    assert by_id[vault.group or ""].label.startswith("AWS")


def test_data_paths_come_from_the_wiring(production: StackRun) -> None:
    arch = arch_of(production)
    found = edges(arch)
    api = label(arch, "Workload", "-api-service")
    worker = label(arch, "Workload", "-worker-discovery")
    scraper = label(arch, "Workload", "-youtube-scraper")
    frontend = label(arch, "Workload", "-frontend")
    pg, cache = label(arch, "PostgresDatabase"), label(arch, "Cache", "production-valkey")  # not a tenant's
    assert found[(api, pg)] == "SQL"
    assert "queue" in found[(worker, cache)] and "scales on queue length" in found[(worker, cache)]
    assert (scraper, pg) not in found  # scrapers get no database URL
    assert not any(source == frontend and target in (pg, cache) for source, target in found)
    backup, vault = label(arch, "BackupJob", "niche-discovery-production-pg-backup"), label(arch, "BackupVault")
    assert found[(backup, vault)] == "dumps" and found[(backup, pg)] == "SQL"
    agent, host = label(arch, "MetricsAgent"), label(arch, "MonitoringServer")
    assert found[(agent, host)] == "remote write"
    # The seed's routes are the Edge's TenantRoutes (HTTPRoutes on the shared Gateway); the load balancer
    # is the one the Gateway's EnvoyProxy declares, and the Edge's DNS records point at it.
    routes = label(arch, "TenantRoutes", "-edge-routes")
    assert found[(routes, api)].endswith("/") and (routes, frontend) in found
    lb = next(n.id for n in arch.nodes if n.kind == "lb")
    assert ("internet", lb) in found and (lb, label(arch, "SharedGateway")) in found
    assert found[(label(arch, "Edge"), lb)] == "DNS records"


def test_a_workload_without_the_database_url_loses_its_edge(production: StackRun) -> None:
    """The edge is derived: take DATABASE_URL out of the API's environment and it disappears."""
    resources = []
    for r in production.resources:
        if r.type == "kubernetes:apps/v1:Deployment" and r.name.endswith("-api-service-deployment"):
            spec = r.inputs["spec"]["template"]["spec"]
            containers = [
                {**c, "env": [e for e in c.get("env", []) if e.get("name") != "DATABASE_URL"]}
                for c in spec["containers"]
            ]
            inputs = {
                **r.inputs,
                "spec": {**r.inputs["spec"], "template": {"spec": {**spec, "containers": containers}}},
            }
            r = type(r)(**{**r.__dict__, "inputs": inputs})  # noqa: PLW2901 - a modified copy
        resources.append(r)
    arch = build("production", resources)
    assert (label(arch, "Workload", "-api-service"), label(arch, "PostgresDatabase")) not in edges(arch)


def test_pools_are_drawn_in_their_cluster_and_pinned_workloads_point_at_them(production: StackRun) -> None:
    arch = arch_of(production)
    pools = [n for n in arch.nodes if n.kind == "pool"]
    # rwp-ai: the rwp tenant's own pool (tenants/rwp.yaml), in the same cluster.
    assert {n.label[0] for n in pools} == {"pool system", "pool general", "pool scrapers", "pool rwp-ai"}
    assert all(n.group == label_group(arch, "cluster") for n in pools)
    scraper = label(arch, "Workload", "-youtube-scraper")
    assert edges(arch)[(scraper, "pool_niche_discovery_production_scrapers")] == "pinned to"


def label_group(arch: Architecture, kind: str) -> str:
    (group,) = [g.id for g in arch.groups if g.kind == kind]
    return group


def test_the_eks_target_is_its_own_cluster_in_its_own_aws_vpc(production_eks: StackRun) -> None:
    arch = arch_of(production_eks)
    by_id = {g.id: g for g in arch.groups}
    (eks,) = [g for g in arch.groups if g.kind == "cluster" and "EKS" in g.label]
    network = by_id[eks.parent or ""]
    assert network.kind == "network" and by_id[network.parent or ""].label.startswith("AWS")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is installed by `make tools`")
def test_the_svg_renders_every_component_and_carries_its_source_digest(production: StackRun) -> None:
    arch = arch_of(production)
    svg = html.unescape(render_svg(dot(arch)))  # Graphviz writes "-" as &#45;
    assert svg_digest(svg) is not None
    for node in arch.nodes:
        assert node.label[0] in svg
    assert subprocess.run(["dot", "-V"], capture_output=True, check=False).returncode == 0


def test_labels_are_escaped_for_mermaid_and_dot() -> None:
    arch = Architecture("demo")
    arch.nodes.append(Node("n", ('a "quoted" <name>',), "Cache", None))
    assert "#quot;quoted#quot; #lt;name#gt;" in mermaid(arch)
    assert 'a \\"quoted\\" <name>' in dot(arch)
