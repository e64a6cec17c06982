"""Issue 15: seed 004's workloads on EKS through the same Application/Workload as the DigitalOcean tenants.

Whole-program checks run the production stack with ``AWS_TENANT_ENABLED`` (tests/conftest.py): EKS on, the
podcast-summariser tenant (``target: aws``) and the GPU pool. Judges beyond our own reading: kubernetes-validate
(API schema, strict) and checkov on every object of the tenant's namespace, the vendored CRDs
(tests/crd_validation.py) on every custom resource of the run, and ``cryptography`` on the vendored RDS CA bundle.
"""

from __future__ import annotations

import copy
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from pydantic import ValidationError

from components.application import (
    KARPENTER_POOL_LABEL,
    RDS_CA_BUNDLE_FILE,
    ApplicationArgs,
    SystemTrustStore,
    application_problems,
    rds_ca_bundle,
)
from components.aws_tenant import POD_IDENTITY_AGENT
from components.eks_cluster import cluster_dns_cidr
from components.workload import (
    ComputeResources,
    KedaScaling,
    ProbeSpec,
    RedisListTrigger,
    ResourceScaling,
    UtilizationTrigger,
    Workload,
    WorkloadArgs,
)
from stack_config.apps import Autoscaling, Service
from stack_config.credentials import credential_shape, names_credential
from stack_config.eks import aws_pool_problems
from stack_config.model import StackConfig
from tests import crd_validation
from tests.conftest import AWS_TENANT_ENABLED, GPU_POOL
from tests.harness import ROOT, Resource, StackRun, component_run, deep_merge, run_main, stack_file_config
from tests.k8s_manifests import is_rendered, manifest
from tests.policy_adapter import PolicyEvaluator, describe, mandatory
from tests.test_k8s_manifests import _checkov

NAMESPACE = "podcast-summariser-production"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
EKS_VPC = "10.100.0.0/16"  # checked against the stack's eks.vpcCidr below


def ours(run: StackRun, type_token: str | None = None) -> list[Resource]:
    """The tenant's Kubernetes objects (its namespace, and the Namespace itself)."""
    return [
        r
        for r in run.resources
        if r.type.startswith("kubernetes:")
        and r.custom
        and (type_token is None or r.type == type_token)
        and (
            r.inputs.get("metadata", {}).get("namespace") == NAMESPACE
            or r.inputs.get("metadata", {}).get("name") == NAMESPACE
        )
    ]


def named(run: StackRun, type_token: str, name: str) -> Resource:
    found = [r for r in ours(run, type_token) if r.inputs["metadata"]["name"] == name]
    assert len(found) == 1, [r.inputs["metadata"]["name"] for r in ours(run, type_token)]
    return found[0]


def pod(run: StackRun, service: str) -> dict[str, Any]:
    spec: dict[str, Any] = named(run, DEPLOYMENT, service).inputs["spec"]["template"]["spec"]
    return spec


def stack_config(run: StackRun) -> StackConfig:
    raw = deep_merge(
        {k.removeprefix("platform:"): v for k, v in stack_file_config(run.stack).items()}, AWS_TENANT_ENABLED
    )
    return StackConfig.model_validate(raw, context={"environment": run.stack})


# --------------------------------------------------------------------------------------------------
# Whole program


def test_the_workloads_run_on_the_eks_provider_and_nothing_else_does(production_aws: StackRun) -> None:
    eks_provider = production_aws.one("pulumi:providers:kubernetes", "niche-discovery-production-eks-provider").urn
    objects = ours(production_aws)
    assert {r.inputs["metadata"]["name"] for r in ours(production_aws, DEPLOYMENT)} == {
        "api",
        "summariser",
        "transcriber",
    }
    assert objects and all(r.provider.startswith(eks_provider + "::") for r in objects)
    # The DigitalOcean side stays on its own cluster.
    elsewhere = [r for r in production_aws.resources if r.type.startswith("kubernetes:") and r.custom]
    on_eks = {r.urn for r in elsewhere if r.provider.startswith(eks_provider + "::")}
    # Besides the tenant: the NodePools, the access RBAC, EksAddons (metrics-server, KEDA, the edge) and the
    # metrics agent (components/eks_metrics_agent.py).
    addons = production_aws.one("platform:eks:EksAddons").urn
    under_addons = {r.urn for r in elsewhere if production_aws.is_descendant(r, addons)}
    assert under_addons
    agent = production_aws.one("platform:monitoring:EksMetricsAgent").urn
    under_agent = {r.urn for r in elsewhere if production_aws.is_descendant(r, agent)}
    assert (
        on_eks
        == {r.urn for r in objects}
        | {r.urn for r in production_aws.of_type("kubernetes:karpenter.sh/v1:NodePool")}
        | {r.urn for r in elsewhere if r.type.startswith("kubernetes:rbac")}
        | under_addons
        | under_agent
    )


def test_the_namespace_is_the_pod_identity_namespace_with_restricted_pod_security(production_aws: StackRun) -> None:
    labels = named(production_aws, "kubernetes:core/v1:Namespace", NAMESPACE).inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.35"


def test_pod_identity_associations_name_the_workloads_service_accounts(production_aws: StackRun) -> None:
    associations = {
        (r.inputs["namespace"], r.inputs["serviceAccount"])
        for r in production_aws.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    accounts = {
        (r.inputs["metadata"]["namespace"], r.inputs["spec"]["template"]["spec"]["serviceAccountName"])
        for r in ours(production_aws, DEPLOYMENT)
    }
    service_accounts = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in ours(production_aws, "kubernetes:core/v1:ServiceAccount")
    }
    # Every service of the seed needs AWS (database, cache or bucket), so every one has its role; beside them only
    # KEDA's operator has one (it reads the SQS queue's length: components/eks_addons.py).
    keda = ("keda", "keda-operator")
    assert keda in associations
    assert associations - {keda} == accounts == service_accounts
    assert len(associations) == 4


def test_the_workloads_wait_for_their_roles(production_aws: StackRun) -> None:
    application = production_aws.one(
        "platform:application:Application", "niche-discovery-production-podcast-summariser-eks-app"
    )
    # A dependency on a component is recorded as one on everything inside it: the associations included.
    associations = {
        r.urn
        for r in production_aws.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if r.inputs["namespace"] != "keda"
    }
    assert len(associations) == 3
    assert associations <= set(application.dependencies)


def test_every_workload_spreads_across_zones_and_the_digitalocean_ones_do_not(production_aws: StackRun) -> None:
    for deployment in ours(production_aws, DEPLOYMENT):
        spread = deployment.inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]
        zone = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert len(zone) == 1, deployment.name
        assert zone[0]["maxSkew"] == 1
        assert zone[0]["whenUnsatisfiable"] == "DoNotSchedule"  # the seed's
        assert zone[0]["labelSelector"]["matchLabels"] == deployment.inputs["spec"]["selector"]["matchLabels"]
    digitalocean = [r for r in production_aws.of_type(DEPLOYMENT) if r not in ours(production_aws, DEPLOYMENT)]
    assert digitalocean
    for deployment in digitalocean:
        keys = [c["topologyKey"] for c in deployment.inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]]
        assert "topology.kubernetes.io/zone" not in keys, deployment.name


def test_the_transcriber_asks_for_a_gpu_on_the_gpu_pool_and_tolerates_its_taint(production_aws: StackRun) -> None:
    spec = pod(production_aws, "transcriber")
    assert spec["nodeSelector"] == {KARPENTER_POOL_LABEL: "gpu"}
    taint = GPU_POOL["taints"][0]  # type: ignore[index]
    assert spec["tolerations"] == [{**taint, "operator": "Equal"}]
    resources = spec["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    # The pool the selector names exists, is the GPU pool and carries the taint tolerated.
    pools = {r.inputs["metadata"]["name"]: r for r in production_aws.of_type("kubernetes:karpenter.sh/v1:NodePool")}
    gpu = pools["gpu"].inputs["spec"]
    assert "nvidia.com/gpu" in gpu["limits"]
    assert gpu["template"]["spec"]["taints"] == [taint]
    for service in ("api", "summariser"):
        other = pod(production_aws, service)
        assert "nodeSelector" not in other and "tolerations" not in other
        assert "nvidia.com/gpu" not in other["containers"][0]["resources"]["limits"]


def test_the_api_scales_3_to_20_on_cpu(production_aws: StackRun) -> None:
    hpa = named(production_aws, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "api").inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    cpu = [m for m in hpa["metrics"] if m["resource"]["name"] == "cpu"]
    assert cpu[0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    # KEDA only for the queue-driven transcriber (tests/test_aws_queue.py), nothing of the broker's.
    keda = {r.inputs["metadata"]["name"] for r in ours(production_aws) if r.type.startswith("kubernetes:keda.sh")}
    assert keda == {"transcriber", "aws-pod-identity"}


def test_the_quota_admits_the_gpu_ceiling_and_no_more(production_aws: StackRun) -> None:
    hard = named(production_aws, "kubernetes:core/v1:ResourceQuota", "compute").inputs["spec"]["hard"]
    # Three transcribers at the ceiling + one rollout surge pod (25 %, rounded up): the gpu pool's gpuLimit.
    assert hard["requests.nvidia.com/gpu"] == "4" == str(GPU_POOL["gpuLimit"])


def test_egress_reaches_rds_elasticache_and_the_pod_identity_agent_only(production_aws: StackRun) -> None:
    assert stack_config(production_aws).eks.vpc_cidr == EKS_VPC

    def egress(service: str) -> list[tuple[str, tuple[int, ...]]]:
        spec = named(production_aws, "kubernetes:networking.k8s.io/v1:NetworkPolicy", service).inputs["spec"]
        return [
            (rule["to"][0]["ipBlock"]["cidr"], tuple(p["port"] for p in rule.get("ports", [])))
            for rule in spec["egress"]
            if "ipBlock" in rule["to"][0]
        ]

    agent = (POD_IDENTITY_AGENT.cidr, (80,))
    assert egress("api") == [(EKS_VPC, (5432,)), (EKS_VPC, (6379,)), ("0.0.0.0/0", (80, 443)), agent]
    assert egress("transcriber") == [(EKS_VPC, (5432,)), ("0.0.0.0/0", (80, 443)), agent]
    assert egress("summariser") == [(EKS_VPC, (5432,)), (EKS_VPC, (6379,)), ("0.0.0.0/0", (80, 443)), agent]


def test_dns_is_allowed_to_the_node_local_cluster_resolver(production_aws: StackRun) -> None:
    spec = named(production_aws, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-dns").inputs["spec"]
    (rule,) = spec["egress"]
    assert {"ipBlock": {"cidr": "172.20.0.10/32"}} in rule["to"]
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
    digitalocean = named_in(production_aws, "niche-discovery-production", "allow-dns")
    assert not [peer for peer in digitalocean.inputs["spec"]["egress"][0]["to"] if "ipBlock" in peer]


def named_in(run: StackRun, namespace: str, name: str) -> Resource:
    (found,) = [
        r
        for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.inputs["metadata"]["name"] == name and r.inputs["metadata"]["namespace"] == namespace
    ]
    return found


@pytest.mark.parametrize(
    ("service_cidr", "expected"),
    [("172.20.0.0/16", "172.20.0.10/32"), ("10.100.0.0/16", "10.100.0.10/32"), (None, "172.20.0.10/32")],
)
def test_the_cluster_dns_address_is_the_service_ranges_tenth(service_cidr: str | None, expected: str) -> None:
    assert cluster_dns_cidr(service_cidr) == expected


def test_the_config_says_where_everything_is_and_holds_no_credential(production_aws: StackRun) -> None:
    data = named(production_aws, "kubernetes:core/v1:ConfigMap", "app-config").inputs["data"]
    assert data["CACHE_AUTH"] == "iam" and data["CACHE_TLS"] == "true" and data["CACHE_USER"]
    assert data["DATABASE_SSLMODE"] == "verify-full" and data["DATABASE_PORT"] == "5432"
    assert data["DATABASE_LOGIN_ARN"].startswith("arn:aws:secretsmanager:")
    assert data["ENVIRONMENT"] == "production"
    # A build mode in the image, not catalog config: "production" in it was refused on staging (catalog comment).
    assert "NODE_ENV" not in data
    for key, value in data.items():
        assert not names_credential(key), key
        assert credential_shape(value) is None, key
    # Nothing secret in the namespace at all: no password exists (RDS keeps it, Valkey takes IAM tokens).
    secret = named(production_aws, "kubernetes:core/v1:Secret", "app-secrets")
    assert secret.inputs.get("stringData", {}) == {}


def test_the_database_clients_verify_rds_against_its_ca_bundle(production_aws: StackRun) -> None:
    bundle = named(production_aws, "kubernetes:core/v1:ConfigMap", "platform-ca").inputs["data"]
    assert bundle == {"postgres-ca.crt": RDS_CA_BUNDLE_FILE.read_text()}
    for service in ("api", "summariser", "transcriber"):
        env = {e["name"]: e.get("value") for e in pod(production_aws, service)["containers"][0]["env"]}
        assert env["PGSSLROOTCERT"] == "/etc/ssl/platform/postgres-ca.crt"
        assert "REDIS_CA_FILE" not in env  # ElastiCache: Amazon's public CA, the image's trust store


def test_every_custom_resource_of_the_run_fits_its_vendored_crd(production_aws: StackRun) -> None:
    resources = list(crd_validation.custom_resources(production_aws.resources))
    assert {r.type for r in resources} >= {"kubernetes:karpenter.sh/v1:NodePool"}
    for resource in resources:
        assert crd_validation.validate(resource.type, crd_validation.as_sent(dict(resource.body))) == [], resource.name


@pytest.fixture(scope="module")
def production_aws_preview() -> StackRun:
    return run_main("production", preview=True, overrides=AWS_TENANT_ENABLED)


def test_a_preview_of_the_stack_deploys_the_same_workloads(production_aws_preview: StackRun) -> None:
    names = {r.inputs["metadata"]["name"] for r in ours(production_aws_preview, DEPLOYMENT)}
    assert names == {"api", "summariser", "transcriber"}


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_policy_pack_is_clean_on_the_tenants_objects(
    preview: bool, production_aws: StackRun, production_aws_preview: StackRun
) -> None:
    run = production_aws_preview if preview else production_aws
    urns = {r.urn for r in ours(run)}
    assert len(urns) > 20
    found = PolicyEvaluator.for_stack("production").analyze(run.resources, preview=preview)
    mine = [v for v in mandatory(found) if v.urn in urns]
    assert mine == [], describe(mine)


# --------------------------------------------------------------------------------------------------
# Independent judges on the rendered objects


@pytest.fixture(scope="module")
def rendered(production_aws: StackRun) -> list[Path]:
    target = ROOT / "build" / "k8s" / "production-aws-tenant"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    paths = []
    for resource in ours(production_aws):
        if not is_rendered(resource):
            continue
        doc = manifest(resource)
        path = target / f"{doc['kind'].lower()}-{resource.name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return paths


@pytest.mark.tools
def test_kubernetes_validate_accepts_every_object_at_the_eks_version(rendered: list[Path]) -> None:
    assert len(rendered) > 20
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kubernetes-validate"),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            "1.35.0",
            *map(str, rendered),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tools
def test_checkov_finds_nothing_in_the_tenants_objects(rendered: list[Path]) -> None:
    result = subprocess.run(
        [
            _checkov(),
            "--framework",
            "kubernetes",
            "--config-file",
            str(ROOT / ".checkov.yaml"),
            "--directory",
            str(rendered[0].parent),
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']}" for r in reports for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert reports[0]["summary"]["passed"] > 0
    assert not failed, "\n".join(failed)


def test_the_vendored_rds_bundle_holds_the_regions_current_roots() -> None:
    certificates = x509.load_pem_x509_certificates(RDS_CA_BUNDLE_FILE.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    current = {
        c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        for c in certificates
        if c.not_valid_before_utc <= now <= c.not_valid_after_utc
    }
    # RDS's default server CA (rds-ca-rsa2048-g1) and its siblings, for the stack's region.
    assert {f"Amazon RDS us-east-1 Root CA {kind} G1" for kind in ("RSA2048", "RSA4096", "ECC384")} <= current
    for certificate in certificates:
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert rds_ca_bundle().pem.count("BEGIN CERTIFICATE") == len(certificates) == 115


# --------------------------------------------------------------------------------------------------
# Validators that fire

_PROBE = {"exec": ["true"]}
_WORKER: dict[str, Any] = {
    "image": "w",
    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "liveness": _PROBE,
    "readiness": _PROBE,
}


def test_scale_to_zero_needs_a_queue() -> None:
    assert Autoscaling(min_replicas=0, max_replicas=4, queue={"name": "transcribe"}).min_replicas == 0
    with pytest.raises(ValidationError, match=r"minReplicas 0 \(scale to zero\) needs a queue trigger"):
        Autoscaling(min_replicas=0, max_replicas=4, cpu_percent=70)


def test_scale_to_zero_is_refused_to_a_service_that_serves_requests() -> None:
    scaling = {"minReplicas": 0, "maxReplicas": 4, "queue": {"name": "q"}}
    assert Service.model_validate({**_WORKER, "autoscaling": scaling}).autoscaling is not None
    with pytest.raises(ValidationError, match="minReplicas 0 on a service with port 3000: requests to zero pods fail"):
        Service.model_validate({**_WORKER, "port": 3000, "autoscaling": scaling})


def test_gpus_need_a_pinned_pool() -> None:
    assert Service.model_validate({**_WORKER, "gpus": 1, "nodePool": "gpu"}).gpus == 1
    with pytest.raises(ValidationError, match="gpus 1 without nodePool"):
        Service.model_validate({**_WORKER, "gpus": 1})


def test_the_stack_refuses_aws_pins_the_eks_pools_cannot_honour(production_aws: StackRun) -> None:
    eks = stack_config(production_aws).eks
    assert aws_pool_problems(eks, {"t.services.transcriber": ("gpu", 1), "t.services.api": (None, 0)}) == []
    problems = aws_pool_problems(
        eks,
        {
            "t.services.a": ("nope", 0),
            "t.services.b": ("general", 1),
            "t.services.c": ("gpu", 0),
            "t.services.d": ("gpu", 5),
            "t.services.e": (None, 1),
        },
    )
    assert problems == [
        "t.services.a: nodePool 'nope' is not one of eks.nodePools (['general', 'gpu', 'scrapers'])",
        "t.services.b: gpus 1 needs nodePool set to a GPU pool of eks.nodePools (one with gpuLimit), not 'general'",
        "t.services.c: nodePool 'gpu' is a GPU pool: request gpus, or pin to a CPU pool",
        "t.services.d: gpus 5 per pod exceeds nodePool 'gpu''s gpuLimit 4",
        "t.services.e: gpus 1 needs nodePool set to a GPU pool of eks.nodePools (one with gpuLimit), not None",
    ]


def test_the_stack_validation_applies_them(production_aws: StackRun) -> None:
    raw = deep_merge({k.removeprefix("platform:"): v for k, v in stack_file_config("production").items()}, {})
    raw = deep_merge(raw, copy.deepcopy(AWS_TENANT_ENABLED))
    del raw["eks"]["nodePools"]["gpu"]
    with pytest.raises(ValidationError, match=r"podcast-summariser.services.transcriber: nodePool 'gpu' is not one"):
        StackConfig.model_validate(raw, context={"environment": "production"})


def _aws_args(**changes: Any) -> ApplicationArgs:
    config = stack_config_from_overrides()
    entry = next(e for e in config.tenants if e.name == "podcast-summariser")
    base: dict[str, Any] = {
        "namespace": NAMESPACE,
        "tenant": entry.name,
        "apps": entry.apps,
        "kubernetes_minor": "1.35",
        "vpc_cidr": EKS_VPC,
        "node_pools": config.eks.node_pools,
        "node_pool_label": KARPENTER_POOL_LABEL,
        "secret_config": lambda key: None,
        "ingress_controller": None,
        "postgres_ca": rds_ca_bundle(),
        "cache_ca": SystemTrustStore(),
        "keda_installed": True,
        "queue_urls": {"episodes": "https://sqs.us-east-1.amazonaws.com/123456789012/psm-episodes"},
        "queue_region": "us-east-1",
    }
    return ApplicationArgs(**{**base, **changes})


def stack_config_from_overrides() -> StackConfig:
    raw = deep_merge({k.removeprefix("platform:"): v for k, v in stack_file_config("production").items()}, {})
    return StackConfig.model_validate(deep_merge(raw, AWS_TENANT_ENABLED), context={"environment": "production"})


def test_the_aws_arguments_satisfy_the_catalog() -> None:
    args = _aws_args()
    assert application_problems(args, args.apps.resolved_services()) == []


def test_what_the_aws_target_cannot_give_is_refused_all_at_once() -> None:
    args = _aws_args()
    services = args.apps.resolved_services()
    queue = Autoscaling(min_replicas=0, max_replicas=4, queue={"name": "transcribe"})
    services["transcriber"] = services["transcriber"].model_copy(update={"autoscaling": queue})
    apps = args.apps.model_copy(
        update={
            "catalog": args.apps.catalog.model_copy(update={"secrets": {"REDIS_URL": "cache.uri"}}),
            "config": {"CACHE_HOST": "elsewhere"},
        }
    )
    bad = _aws_args(
        apps=apps,
        postgres_ca=None,
        node_pools={},
        service_egress={"ghost": [POD_IDENTITY_AGENT]},
        platform_config={"CACHE_HOST": "h"},
        keda_installed=False,
        queue_region=None,
    )
    problems = application_problems(bad, services)
    assert problems == [
        "['transcriber'] scale with KEDA (queue or requestsPerSecond), which this cluster does not run: scale them on "
        "cpuPercent/memoryPercent (an HPA) or install KEDA there",
        "['transcriber'] scale on a queue that is neither an SQS queue (queue_urls) nor readable on the broker, "
        "which KEDA reads with the broker's password and this cache has none (IAM authentication): on AWS pass the "
        "tenant's queue_urls (AwsTenant.queue_urls), elsewhere give the cache a password user",
        "queue_urls given without queue_region: pass the queues' AWS region (KEDA's awsRegion)",
        "secrets.REDIS_URL: cache.uri is not produced on this target (no cache_uri); on AWS the pods read "
        "DATABASE_LOGIN_ARN / CACHE_USER from the ConfigMap and authenticate with their Pod Identity role",
        "services.api: egress postgres needs postgres_ca or postgres_cluster_id",
        "services.summariser: egress postgres needs postgres_ca or postgres_cluster_id",
        "services.transcriber: egress postgres needs postgres_ca or postgres_cluster_id",
        "services.transcriber: nodePool 'gpu' is not a pool of this cluster ([])",
        "service_egress names ['ghost'], which are not services of the catalog (['api', 'summariser', 'transcriber'])",
        "the catalog's config sets ['CACHE_HOST'], which the platform provides: drop them from the catalog",
    ]


_W: dict[str, Any] = {
    "namespace": "t",
    "object_name": "w",
    "image": "registry.example.com/acme/w:1.0.0",
    "resources": ComputeResources("1", "1Gi", "1", "1Gi"),
    "liveness": ProbeSpec(exec_command=["true"]),
    "readiness": ProbeSpec(exec_command=["true"]),
}


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"gpus": 1}, "gpus 1 without a toleration"),
        ({"gpus": -1}, "gpus -1 must be >= 0"),
        ({"scaling": ResourceScaling(0, 3, cpu_percent=70)}, "an HPA's minReplicas is at least 1"),
        (
            {"scaling": KedaScaling(0, 3, triggers=[UtilizationTrigger("cpu", 70)])},
            "minReplicas 0 needs an event trigger",
        ),
    ],
)
def test_workloads_refuse_gpus_without_a_pool_and_unwakeable_zero(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Workload("w", WorkloadArgs(**{**_W, **changes}))


def test_a_workload_without_zone_spread_keeps_only_the_host_spread() -> None:
    run = component_run(lambda: Workload("w", WorkloadArgs(**_W)))
    spec = run.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    assert [c["topologyKey"] for c in spec["topologySpreadConstraints"]] == ["kubernetes.io/hostname"]
    assert "nvidia.com/gpu" not in spec["containers"][0]["resources"]["limits"]


def test_a_queue_worker_scales_to_zero_in_a_scaled_object_keda_accepts() -> None:
    trigger = RedisListTrigger(list_name="transcribe", address="valkey:6379", authentication_ref="broker")
    run = component_run(lambda: Workload("w", WorkloadArgs(**{**_W, "scaling": KedaScaling(0, 4, triggers=[trigger])})))
    (scaled,) = crd_validation.custom_resources(run.resources)
    assert scaled.body["spec"]["minReplicaCount"] == 0
    assert crd_validation.validate(scaled.type, crd_validation.as_sent(dict(scaled.body))) == []
    assert run.one(DEPLOYMENT).inputs["spec"].get("replicas") is None
