"""Application: namespace guard rails, config vs secrets, network policies, KEDA wiring (both stacks)."""

from __future__ import annotations

from typing import Any

import pytest

from components.application import Application, ApplicationArgs, with_database
from components.workload import NetworkPeer
from stack_config.model import StackConfig
from tests import crd_validation
from tests.harness import TEST_SECRETS, Resource, StackRun, stack_file_config

NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def by_object_name(run: StackRun, type_token: str, object_name: str) -> Resource:
    namespace = f"niche-discovery-{run.stack}"
    found = [
        r
        for r in run.of_type(type_token)
        if r.inputs["metadata"]["name"] == object_name and r.inputs["metadata"].get("namespace", namespace) == namespace
    ]
    assert len(found) == 1, [r.inputs["metadata"]["name"] for r in run.of_type(type_token)]
    return found[0]


def pod_spec(run: StackRun, service: str) -> dict[str, Any]:
    return by_object_name(run, "kubernetes:apps/v1:Deployment", service).inputs["spec"]["template"]["spec"]


def test_namespace_enforces_restricted_pod_security(up_run: StackRun) -> None:
    labels = by_object_name(up_run, "kubernetes:core/v1:Namespace", f"niche-discovery-{up_run.stack}").inputs[
        "metadata"
    ]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.35"


def test_quota_covers_every_autoscaler_at_its_ceiling(production: StackRun) -> None:
    hard = by_object_name(production, "kubernetes:core/v1:ResourceQuota", "compute").inputs["spec"]["hard"]
    # api 20 + 5 surge pods at 500m, discovery 15 + 4 at 1 CPU, ...: far above the seed's floor.
    assert int(hard["limits.cpu"].removesuffix("m")) > 25_000
    assert hard["services.loadbalancers"] == "0"
    assert by_object_name(production, "kubernetes:core/v1:LimitRange", "defaults")


def test_config_map_has_the_stacks_values_and_no_credentials(staging: StackRun, production: StackRun) -> None:
    staging_data = by_object_name(staging, "kubernetes:core/v1:ConfigMap", "app-config").inputs["data"]
    production_data = by_object_name(production, "kubernetes:core/v1:ConfigMap", "app-config").inputs["data"]
    assert (staging_data["RATE_LIMIT_REQUESTS"], production_data["RATE_LIMIT_REQUESTS"]) == ("1000", "100")
    assert staging_data["ENVIRONMENT"] == "staging"
    for data in (staging_data, production_data):
        assert not {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "SENTRY_DSN"} & set(data)
        assert not any("@" in value for value in data.values())


def test_credentials_are_a_secret_built_from_the_managed_services(up_run: StackRun) -> None:
    secret = by_object_name(up_run, "kubernetes:core/v1:Secret", "app-secrets")
    assert "stringData" in secret.secret_inputs
    data = secret.inputs["stringData"]
    assert data["DATABASE_URL"].startswith("postgresql://") and ":25061/" in data["DATABASE_URL"]
    assert data["REDIS_URL"].startswith("rediss://")
    assert data["CELERY_BROKER_URL"].endswith("?ssl_cert_reqs=required&ssl_ca_certs=/etc/ssl/platform/valkey-ca.crt")
    assert data["JWT_SECRET"] == TEST_SECRETS["jwtSecret"]
    assert data["YOUTUBE_API_KEY"] == TEST_SECRETS["youtubeApiKey"]
    assert data["SENTRY_DSN"] == TEST_SECRETS["sentryDsn"]


def test_each_service_gets_only_its_secret_keys(staging: StackRun) -> None:
    def secret_keys(service: str) -> set[str]:
        env = pod_spec(staging, service)["containers"][0].get("env", [])
        return {e["name"] for e in env if "valueFrom" in e}

    assert "YOUTUBE_API_KEY" in secret_keys("youtube-scraper")
    assert "YOUTUBE_API_KEY" not in secret_keys("api-service")
    assert secret_keys("frontend") == set()


SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def test_staging_scales_down(staging: StackRun, production: StackRun) -> None:
    def bounds(run: StackRun) -> tuple[int, int]:
        spec = by_object_name(run, SCALED_OBJECT, "api-service").inputs["spec"]
        return spec["minReplicaCount"], spec["maxReplicaCount"]

    assert bounds(production) == (3, 20)
    assert bounds(staging) == (1, 3)


def test_api_scales_on_cpu_memory_and_requests_per_second_from_the_monitoring_host(production: StackRun) -> None:
    spec = by_object_name(production, SCALED_OBJECT, "api-service").inputs["spec"]
    triggers = {t["type"]: t for t in spec["triggers"]}
    assert set(triggers) == {"cpu", "memory", "prometheus"}
    assert triggers["cpu"]["metadata"] == {"value": "70"} and triggers["memory"]["metadata"] == {"value": "80"}
    prometheus = triggers["prometheus"]
    assert prometheus["metricType"] == "AverageValue" and prometheus["metadata"]["threshold"] == "100"
    # The monitoring droplet's private address (the agent in the cluster has no query API).
    droplet = production.one("digitalocean:index/droplet:Droplet")
    assert prometheus["metadata"]["serverAddress"] == f"http://{droplet.outputs['ipv4AddressPrivate']}:9090"
    query = prometheus["metadata"]["query"]
    assert query.startswith("sum(rate(http_requests_total{")
    assert 'namespace="niche-discovery-production"' in query and 'app="api-service"' in query
    # No HPA of ours beside KEDA's: two autoscalers on one Deployment fight over its replica count.
    assert not [
        hpa
        for hpa in production.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
        if hpa.inputs["metadata"]["namespace"] == "niche-discovery-production"
    ]


def test_api_scale_up_and_down_are_the_seeds(production: StackRun) -> None:
    behavior = by_object_name(production, SCALED_OBJECT, "api-service").inputs["spec"]["advanced"][
        "horizontalPodAutoscalerConfig"
    ]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 60
    assert behavior["scaleUp"]["policies"] == [{"type": "Percent", "value": 100, "periodSeconds": 30}]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert behavior["scaleDown"]["policies"] == [{"type": "Percent", "value": 50, "periodSeconds": 60}]
    discovery = by_object_name(production, SCALED_OBJECT, "worker-discovery").inputs["spec"]["advanced"][
        "horizontalPodAutoscalerConfig"
    ]["behavior"]
    assert discovery["scaleUp"]["stabilizationWindowSeconds"] == 30
    assert discovery["scaleUp"]["policies"] == [{"type": "Pods", "value": 4, "periodSeconds": 60}]


def test_cache_and_broker_use_separate_databases(up_run: StackRun) -> None:
    data = by_object_name(up_run, "kubernetes:core/v1:Secret", "app-secrets").inputs["stringData"]
    assert data["REDIS_URL"].startswith("rediss://") and data["REDIS_URL"].endswith(":25061/0")
    assert ":25061/1?ssl_cert_reqs=required&" in data["CELERY_BROKER_URL"]
    for worker in ("worker-discovery", "worker-validation"):
        trigger = by_object_name(up_run, SCALED_OBJECT, worker).inputs["spec"]["triggers"][0]
        assert trigger["type"] == "redis" and trigger["metadata"]["databaseIndex"] == "1"


def test_workers_scale_on_their_celery_queue_with_keda(production: StackRun) -> None:
    scaled = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in production.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")
        if r.inputs["metadata"]["namespace"] == "niche-discovery-production"
    }
    assert set(scaled) == {"api-service", "worker-discovery", "worker-validation"}
    trigger = scaled["worker-discovery"]["triggers"][0]
    assert trigger["metadata"]["listName"] == "discovery"
    # TLS verified against DigitalOcean's CA, supplied by the TriggerAuthentication (not enableTLS).
    assert "enableTLS" not in trigger["metadata"]
    assert trigger["metadata"]["address"].startswith("private-") and trigger["metadata"]["address"].endswith(":25061")
    assert (scaled["worker-discovery"]["minReplicaCount"], scaled["worker-discovery"]["maxReplicaCount"]) == (2, 15)
    auth = production.one(
        "kubernetes:keda.sh/v1alpha1:TriggerAuthentication", "niche-discovery-production-app-trigger-auth"
    )
    refs = auth.inputs["spec"]["secretTargetRef"]
    assert {r["parameter"] for r in refs} == {"password", "tls", "ca"}
    assert {r["name"] for r in refs} == {"keda-broker-auth"}
    broker = by_object_name(production, "kubernetes:core/v1:Secret", "keda-broker-auth")
    assert "stringData" in broker.secret_inputs
    assert broker.inputs["stringData"]["tls"] == "enable"
    assert "BEGIN CERTIFICATE" in broker.inputs["stringData"]["ca"]
    keda = production.one("kubernetes:helm.sh/v3:Release", "niche-discovery-production-addons-keda")
    assert keda.urn in auth.dependencies


def test_scrapers_run_on_the_tainted_pool_and_reach_the_internet(staging: StackRun) -> None:
    spec = pod_spec(staging, "youtube-scraper")
    assert spec["nodeSelector"] == {"doks.digitalocean.com/node-pool": "scrapers"}
    assert spec["tolerations"] == [
        {"key": "workload", "operator": "Equal", "value": "scrapers", "effect": "NoSchedule"}
    ]
    egress = by_object_name(staging, NP, "youtube-scraper").inputs["spec"]["egress"]
    internet = [rule for rule in egress if rule["to"][0].get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
    assert internet and "169.254.0.0/16" in internet[0]["to"][0]["ipBlock"]["except"]


def test_scrapers_and_proxy_manager_reach_upstream_proxy_ports(production: StackRun) -> None:
    def internet_ports(service: str) -> set[int]:
        egress = by_object_name(production, NP, service).inputs["spec"]["egress"]
        rules = [r for r in egress if r["to"][0].get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
        assert len(rules) == 1
        return {p["port"] for p in rules[0]["ports"]}

    for service in ("youtube-scraper", "tiktok-scraper", "reddit-scraper", "proxy-manager"):
        assert internet_ports(service) == {80, 443, 1080, 3128, 8080, 8443}


def test_namespace_denies_by_default_and_allows_dns(up_run: StackRun) -> None:
    deny = by_object_name(up_run, NP, "default-deny").inputs["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    dns = by_object_name(up_run, NP, "allow-dns").inputs["spec"]["egress"][0]
    assert {p["port"] for p in dns["ports"]} == {53}


def test_data_services_are_reached_on_the_vpc_only_by_who_needs_them(production: StackRun) -> None:
    def egress_ports(service: str) -> set[int]:
        rules = by_object_name(production, NP, service).inputs["spec"].get("egress", [])
        return {
            p["port"]
            for r in rules
            for p in r.get("ports", [])
            if r["to"][0].get("ipBlock", {}).get("cidr") == "10.120.0.0/16"
        }

    assert egress_ports("api-service") == {25060, 25061}
    assert egress_ports("worker-discovery") == {25060, 25061}
    assert egress_ports("frontend") == set()


def test_ingress_controller_reaches_only_routed_services(production: StackRun) -> None:
    def from_ingress(service: str) -> bool:
        rules = by_object_name(production, NP, service).inputs["spec"].get("ingress", [])
        # The edge's proxy pods (whichever implementation): the only peers from another namespace.
        return any("namespaceSelector" in peer for rule in rules for peer in rule["from"])

    assert from_ingress("api-service") and from_ingress("frontend") and from_ingress("flower")
    assert not from_ingress("proxy-manager") and not from_ingress("worker-discovery")


def test_scrapers_may_call_the_proxy_manager(production: StackRun) -> None:
    egress = by_object_name(production, NP, "youtube-scraper").inputs["spec"]["egress"]
    assert {
        "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "proxy-manager"}}}],
        "ports": [{"protocol": "TCP", "port": 8080}],
    } in egress


def test_monitoring_can_plug_in_by_namespace_label(production: StackRun) -> None:
    rule = by_object_name(production, NP, "allow-metrics-scrape").inputs["spec"]["ingress"][0]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"platform.io/metrics-scraper": "true"}
    # The port named metrics only: the monitoring namespace reaches no HTTP port.
    assert rule["ports"] == [{"protocol": "TCP", "port": "metrics"}]


def test_metrics_have_a_port_of_their_own_on_pod_and_service(production: StackRun) -> None:
    container = pod_spec(production, "api-service")["containers"][0]
    assert container["ports"] == [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9100, "protocol": "TCP"},
    ]
    ports = by_object_name(production, "kubernetes:core/v1:Service", "api-service").inputs["spec"]["ports"]
    assert ports == [
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"},
        {"name": "metrics", "protocol": "TCP", "port": 9100, "targetPort": "metrics"},
    ]
    # A metrics-only workload gets a Service too (discovery by port name), with no HTTP port.
    exporter = by_object_name(production, "kubernetes:core/v1:Service", "celery-exporter").inputs["spec"]["ports"]
    assert [p["name"] for p in exporter] == ["metrics"]
    for scraper in ("youtube-scraper", "tiktok-scraper", "reddit-scraper"):
        assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in pod_spec(production, scraper)[
            "containers"
        ][0]["ports"]


def test_clients_call_api_and_frontend_on_port_80(production: StackRun) -> None:
    for service, container_port in (("api-service", 8000), ("frontend", 8080)):
        http = by_object_name(production, "kubernetes:core/v1:Service", service).inputs["spec"]["ports"][0]
        assert (http["port"], http["targetPort"]) == (80, "http")
        assert pod_spec(production, service)["containers"][0]["ports"][0]["containerPort"] == container_port
    # Policies see the pod's port (after the Service's translation): still the container port.
    ingress = by_object_name(production, NP, "api-service").inputs["spec"]["ingress"]
    assert {p["port"] for rule in ingress for p in rule["ports"]} == {8000}


def test_images_get_the_directories_the_seed_mounts(production: StackRun) -> None:
    for worker in ("worker-discovery", "worker-validation"):
        spec = pod_spec(production, worker)
        mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"] == "/app/logs")
        assert not mount.get("readOnly")
        volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        assert volume["emptyDir"] == {"sizeLimit": "256Mi"}
        assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    api = pod_spec(production, "api-service")
    assert {"name": "cm-app-config", "mountPath": "/app/config", "readOnly": True} in api["containers"][0][
        "volumeMounts"
    ]
    assert {"name": "cm-app-config", "configMap": {"name": "app-config", "defaultMode": 0o444}} in api["volumes"]


def test_worker_health_checks_follow_the_seeds_healthcheck(production: StackRun) -> None:
    for worker in ("worker-discovery", "worker-validation"):
        probe = pod_spec(production, worker)["containers"][0]["livenessProbe"]
        assert (probe["periodSeconds"], probe["timeoutSeconds"], probe["failureThreshold"]) == (30, 10, 3)
        assert probe["initialDelaySeconds"] == 30
        # The command's own wait ends well inside the probe's timeout.
        assert "--timeout 5" in probe["exec"]["command"][-1]


def test_acme_solvers_are_reachable_from_the_controller(production: StackRun) -> None:
    spec = by_object_name(production, NP, "allow-acme-http01-solver").inputs["spec"]
    assert spec["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}


def test_every_kubernetes_object_uses_the_clusters_provider(up_run: StackRun) -> None:
    provider = up_run.one("pulumi:providers:kubernetes")
    for resource in up_run.resources:
        if resource.custom and resource.type.startswith("kubernetes:"):
            assert resource.provider.startswith(provider.urn), resource.name


def test_database_clients_get_the_managed_databases_ca(production: StackRun) -> None:
    ca = by_object_name(production, "kubernetes:core/v1:ConfigMap", "platform-ca").inputs["data"]
    assert set(ca) == {"postgres-ca.crt", "valkey-ca.crt"}
    api = pod_spec(production, "api-service")
    mounts = api["containers"][0]["volumeMounts"]
    assert {"name": "cm-platform-ca", "mountPath": "/etc/ssl/platform", "readOnly": True} in mounts
    env = {e["name"]: e.get("value") for e in api["containers"][0]["env"]}
    assert env["PGSSLROOTCERT"] == "/etc/ssl/platform/postgres-ca.crt"
    frontend = pod_spec(production, "frontend")["containers"][0]
    assert len(frontend["volumeMounts"]) == 1


def _whole_numbers(value: Any) -> Any:
    """The mocks return every number as a float; the API server gets the integers the program wrote."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def test_the_tenants_custom_resources_fit_the_pinned_crds(up_run: StackRun) -> None:
    namespace = f"niche-discovery-{up_run.stack}"
    ours = [
        r for r in crd_validation.custom_resources(up_run.resources) if r.body["metadata"].get("namespace") == namespace
    ]
    assert {r.type.rsplit(":", 1)[1] for r in ours} >= {"ScaledObject", "TriggerAuthentication"}
    for resource in ours:
        assert crd_validation.validate(resource.type, _whole_numbers(dict(resource.body))) == [], resource.name


def test_request_rate_scaling_without_a_prometheus_is_refused() -> None:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config("staging").items()}
    config = StackConfig.model_validate(raw, context={"environment": "staging"})
    args = ApplicationArgs(
        namespace="ns",
        tenant="niche-discovery",
        apps=config.apps,
        kubernetes_minor="1.35",
        vpc_cidr="10.110.0.0/16",
        node_pools=config.cluster.pools,
        postgres_cluster_id="pg",
        cache_cluster_id="valkey",
        database_pooled_uri="postgresql://u:p@h:25061/d",
        database_direct_uri="postgresql://u:p@h:25060/d",
        cache_uri="rediss://default:p@h:25061",
        cache_host="h",
        cache_port=25061,
        cache_password="p",
        secret_config=lambda key: None,
        ingress_controller=NetworkPeer(pod_labels={"app": "edge"}, namespace_labels={}),
    )
    with pytest.raises(ValueError, match=r"\['api-service'\] scale on requestsPerSecond, which needs prometheus_url"):
        Application("app", args)


@pytest.mark.parametrize(
    ("uri", "database", "query", "expected"),
    [
        ("rediss://default:pw@host:25061", 0, "", "rediss://default:pw@host:25061/0"),
        ("rediss://default:pw@host:25061/0", 1, "a=b", "rediss://default:pw@host:25061/1?a=b"),
        ("rediss://default:pw@host:25061/?x=y", 1, "", "rediss://default:pw@host:25061/1"),
    ],
)
def test_a_valkey_uri_is_pointed_at_one_database(uri: str, database: int, query: str, expected: str) -> None:
    assert with_database(uri, database, query) == expected


def test_the_edge_routes_only_the_seeds_public_paths_to_http_ports(production: StackRun) -> None:
    namespace = "niche-discovery-production"
    routed = set()
    for route in production.resources:
        if not route.type.endswith(":HTTPRoute") or route.inputs["metadata"].get("namespace") != namespace:
            continue
        host = route.inputs["spec"]["hostnames"][0].split(".")[0]
        for rule in route.inputs["spec"]["rules"]:
            for match in rule["matches"]:
                for backend in rule["backendRefs"]:
                    routed.add((host, match["path"]["value"], backend["name"], int(backend["port"])))
    assert routed == {
        ("api", "/v1/", "api-service", 80),
        ("api", "/health", "api-service", 80),
        ("api", "/admin/flower", "flower", 5555),
        ("dashboard", "/", "frontend", 80),
    }
