"""Application: namespace guard rails, config vs secrets, network policies, KEDA wiring (both stacks)."""

from __future__ import annotations

from typing import Any

from tests.harness import TEST_SECRETS, Resource, StackRun

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


def test_staging_scales_down(staging: StackRun, production: StackRun) -> None:
    def hpa(run: StackRun) -> tuple[int, int]:
        spec = by_object_name(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "api-service").inputs["spec"]
        return spec["minReplicas"], spec["maxReplicas"]

    assert hpa(production) == (3, 20)
    assert hpa(staging) == (1, 3)


def test_workers_scale_on_their_celery_queue_with_keda(production: StackRun) -> None:
    scaled = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in production.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")
    }
    assert set(scaled) == {"worker-discovery", "worker-validation"}
    trigger = scaled["worker-discovery"]["triggers"][0]
    assert trigger["metadata"]["listName"] == "discovery"
    # TLS verified against DigitalOcean's CA, supplied by the TriggerAuthentication (not enableTLS).
    assert "enableTLS" not in trigger["metadata"]
    assert trigger["metadata"]["address"].startswith("private-") and trigger["metadata"]["address"].endswith(":25061")
    assert (scaled["worker-discovery"]["minReplicaCount"], scaled["worker-discovery"]["maxReplicaCount"]) == (2, 15)
    auth = production.one("kubernetes:keda.sh/v1alpha1:TriggerAuthentication")
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
        return any(
            peer.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "ingress-nginx"}
            for rule in rules
            for peer in rule["from"]
        )

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
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]


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
