"""Run the Pulumi program (or one component) in-process under mocks and record what it registered.

No network, no credentials, no Pulumi CLI. What the real engine would do that mocks do not is
simulated deliberately and said here:

* every registration's *options* (parent, protect, dependencies, provider, ignoreChanges ...) are
  recorded, which pulumi's own MockMonitor drops;
* inputs arrive in the camelCase wire form a CrossGuard policy sees; secret inputs are unwrapped and
  their top-level keys remembered in ``secret_inputs``;
* ``preview=True`` behaves like a first preview: new resources get no id and only their inputs back,
  so computed outputs are unknown and ``apply`` callbacks on them never run;
* stack exports are read from the root stack and resolved with their secretness.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"
PROJECT = "platform"
UNKNOWN = rpc.UNKNOWN
"""What an unknown (preview-time) value looks like in recorded inputs."""

TEST_SECRETS: Mapping[str, str] = {
    "grafanaAdminPassword": "test-grafana-password",
    "alertPagingWebhookUrl": "https://events.pagerduty.example/v2/enqueue/test-key",
    "alertChatWebhookUrl": "https://hooks.slack.example/services/T000/B000/test",
    "jwtSecret": "test-jwt-secret-0123456789abcdef",
    "youtubeApiKey": "test-youtube-key",
    "tiktokClientKey": "test-tiktok-key",
    "tiktokClientSecret": "test-tiktok-secret",
    "redditClientId": "test-reddit-id",
    "redditClientSecret": "test-reddit-secret",
    "flowerHtpasswd": "admin:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",  # SHA-1: Envoy Gateway basic auth
    "sentryDsn": "https://test@sentry.example/1",
    "videoAnalysisJwtSecret": "test-video-analysis-jwt-0123456789",
    "videoAnalysisGeminiApiKey": "test-gemini-key",
    "rwpOpenaiApiKey": "test-openai-key",
    "rwpJobadderClientId": "test-jobadder-id",
    "rwpJobadderClientSecret": "test-jobadder-secret",
    "rwpGaApiSecret": "test-ga-secret",
}
"""Stand-ins for the encrypted values a bootstrapped stack carries (docs: operations)."""


# ------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Resource:
    """One registered resource, as the engine (and a policy) would see it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    """camelCase inputs, secrets unwrapped (unknowns stay UNKNOWN)."""
    secret_inputs: frozenset[str]
    """Top-level input keys whose value (or part of it) was secret."""
    outputs: dict[str, Any]
    """State the mock returned."""
    parent: str
    protect: bool
    dependencies: tuple[str, ...]
    provider: str
    ignore_changes: tuple[str, ...]
    custom: bool
    delete_before_replace: bool
    id: str = ""
    replace_on_changes: tuple[str, ...] = ()
    """Inputs whose change forces a replacement (``ResourceOptions.replace_on_changes``)."""

    @property
    def parent_type(self) -> str:
        return self.parent.split("::")[-2].split("$")[-1] if self.parent else ""


@dataclass
class StackRun:
    stack: str
    preview: bool
    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Invokes made, as (token, args)."""

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise AssertionError(f"expected one {type_token} named {name!r}, found {names}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children_of(self, component: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == component.urn]

    def is_descendant(self, resource: Resource, ancestor_urn: str) -> bool:
        """Whether ``ancestor_urn`` is among the resource's parents, at any depth."""
        parents = {r.urn: r.parent for r in self.resources}
        parent = resource.parent
        while parent:
            if parent == ancestor_urn:
                return True
            parent = parents.get(parent, "")
        return False

    def type_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------------------------
# Secret/unknown handling


def _unwrap(value: Any) -> tuple[Any, bool]:
    """Strip pulumi's secret wrappers (and normalise unknowns to UNKNOWN); report whether any were secret."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN, False
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            inner, _ = _unwrap(value.get("value"))
            return inner, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], secret = _unwrap(v)
            found |= secret
        return out, found
    if isinstance(value, list):
        found = False
        items = []
        for v in value:
            item, secret = _unwrap(v)
            items.append(item)
            found |= secret
        return items, found
    return value, False


# ------------------------------------------------------------------------------------------------
# Mocks


def _fake_id(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:12]  # noqa: S324 - an id, not security


def _droplet_id(name: str) -> str:
    return str(int(_fake_id(name)[:7], 16))


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster: {certificate-authority-data: dGVzdA==, server: 'https://mock.k8s.ondigitalocean.com'}
  name: mock
contexts:
- context: {cluster: mock, user: mock-admin}
  name: mock
current-context: mock
users:
- name: mock-admin
  user: {token: mock-short-lived-token}
"""


def _database_outputs(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    engine = inputs.get("engine", "pg")
    host = f"{inputs.get('name', name)}-do-user-1-0.db.ondigitalocean.com"
    private_host = f"private-{host}"
    password = f"pw-{_fake_id(name)}"
    if engine == "valkey":
        port, user, database = 25061, "default", ""
        uri = f"rediss://{user}:{password}@{host}:{port}"
        private_uri = f"rediss://{user}:{password}@{private_host}:{port}"
    else:
        port, user, database = 25060, "doadmin", "defaultdb"
        uri = f"postgresql://{user}:{password}@{host}:{port}/{database}?sslmode=require"
        private_uri = f"postgresql://{user}:{password}@{private_host}:{port}/{database}?sslmode=require"
    return {
        "clusterUrn": f"do:dbaas:{_fake_id(name)}",
        "host": host,
        "privateHost": private_host,
        "port": port,
        "user": user,
        "password": password,
        "database": database,
        "uri": uri,
        "privateUri": private_uri,
        "metricsEndpoints": [f"{host}:9273"],
    }


def fake_resource_id(type_token: str, name: str) -> str:
    """The id a provider would assign, stable per (type, name); droplet ids are numeric, as DigitalOcean's are."""
    if type_token == "digitalocean:index/droplet:Droplet":
        return _droplet_id(name)
    if type_token == "digitalocean:index/reservedIp:ReservedIp":
        return "203.0.113.40"
    if type_token == "aws:ec2/securityGroup:SecurityGroup":
        return f"sg-{_fake_id(type_token, name)}00000"
    return f"{name}-{_fake_id(type_token, name)}"


def outputs_for(type_token: str, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    """Realistic computed outputs per resource type (only in up mode).

    Shared by the in-process mocks and the echo provider the real-engine tests serve
    (tests/engine/echo_provider.py), so both answer alike.
    """
    if type_token == "digitalocean:index/vpc:Vpc":
        return {"vpcUrn": f"do:vpc:{rid}"}
    if type_token == "digitalocean:index/kubernetesCluster:KubernetesCluster":
        return {
            "clusterUrn": f"do:kubernetes:{rid}",
            "endpoint": f"https://{rid}.k8s.ondigitalocean.com",
            "ipv4Address": "203.0.113.20",
            "status": "running",
            "kubeConfigs": [
                {
                    "rawConfig": KUBECONFIG,
                    "token": "mock-7-day-token",
                    # As the provider returns it: the CA certificate base64-encoded, the API URL as host.
                    "clusterCaCertificate": base64.b64encode(
                        b"-----BEGIN CERTIFICATE-----\nMOCK-CA\n-----END CERTIFICATE-----\n"
                    ).decode(),
                    "host": f"https://{rid}.k8s.ondigitalocean.com",
                    "expiresAt": "2026-12-10T08:00:00Z",
                }
            ],
        }
    if type_token == "digitalocean:index/kubernetesNodePool:KubernetesNodePool":
        return {"actualNodeCount": inputs.get("minNodes") or inputs.get("nodeCount") or 1}
    if type_token == "digitalocean:index/databaseCluster:DatabaseCluster":
        return _database_outputs(name, inputs)
    if type_token == "digitalocean:index/databaseReplica:DatabaseReplica":
        host = f"{inputs.get('name', name)}-do-user-1-0.db.ondigitalocean.com"
        return {"uuid": f"replica-{_fake_id(name)}", "host": host, "privateHost": f"private-{host}", "port": 25060}
    if type_token == "digitalocean:index/spacesBucket:SpacesBucket":
        bucket, region = inputs.get("name") or name, inputs.get("region") or "nyc3"
        return {
            "bucketDomainName": f"{bucket}.{region}.digitaloceanspaces.com",
            "endpoint": f"{region}.digitaloceanspaces.com",
            "bucketUrn": f"do:space:{bucket}",
        }
    if type_token == "digitalocean:index/spacesKey:SpacesKey":
        return {"accessKey": f"DO00{_fake_id(name).upper()}", "secretKey": f"mock-spaces-secret-{_fake_id(name)}"}
    if type_token == "digitalocean:index/cdn:Cdn":
        return {"endpoint": f"{inputs.get('origin', name)}".replace(".digitaloceanspaces.", ".cdn.digitaloceanspaces.")}
    if type_token == "digitalocean:index/databaseUser:DatabaseUser":
        return {"password": f"pw-{_fake_id(name)}", "role": "normal"}
    if type_token == "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool":
        host = "private-pool-host.db.ondigitalocean.com"
        return {
            "host": host.removeprefix("private-"),
            "privateHost": host,
            "port": 25061,
            "password": f"pw-{_fake_id(name)}",
            "privateUri": f"postgresql://{inputs.get('user')}:pw-{_fake_id(name)}@{host}:25061/"
            f"{inputs.get('name')}?sslmode=require",
            "uri": "postgresql://public-pool-uri",
        }
    if type_token == "digitalocean:index/droplet:Droplet":
        return {
            "dropletUrn": f"do:droplet:{rid}",
            "ipv4Address": "203.0.113.30",
            "ipv4AddressPrivate": "10.0.0.30",
            "status": "active",
        }
    if type_token == "digitalocean:index/volume:Volume":
        return {"volumeUrn": f"do:volume:{rid}"}
    if type_token == "aws:ec2/eip:Eip":
        # Documentation range (RFC 5737), distinct per zone's EIP.
        return {"publicIp": f"198.51.100.{int(_fake_id(name)[:4], 16) % 250 + 1}", "allocationId": f"eipalloc-{rid}"}
    if type_token == "random:index/randomPassword:RandomPassword":
        # bcrypt_hash as terraform-provider-random makes it (Go's x/crypto/bcrypt: $2a$, cost 10, 53 characters).
        return {"result": f"mock-password-{_fake_id(name)}", "bcryptHash": "$2a$10$" + (_fake_id(name) * 5)[:53]}
    if type_token.startswith("tls:index/"):
        return _tls_outputs(type_token, name)
    if type_token == "digitalocean:index/reservedIp:ReservedIp":
        return {"ipAddress": "203.0.113.40", "reservedIpUrn": "do:reservedip:203.0.113.40"}
    if type_token == "kubernetes:helm.sh/v3:Release":
        return {
            "status": {
                "status": "deployed",
                "name": inputs.get("name") or name,
                "namespace": inputs.get("namespace", "default"),
                "chart": inputs.get("chart"),
                "version": inputs.get("version"),
                "revision": 1,
            }
        }
    if type_token == "kubernetes:core/v1:Service" and "spec" not in inputs:
        # A read (Service.get: EksAddons reads the Envoy proxies' Service back): what Auto Mode's load
        # balancing reports once the NLB exists, a hostname and no IP.
        return {
            "status": {
                "loadBalancer": {"ingress": [{"hostname": f"k8s-envoy-{_fake_id(name)}.elb.us-east-1.amazonaws.com"}]}
            }
        }
    if type_token == "digitalocean:index/certificate:Certificate":
        return {"uuid": rid, "state": "verified"}
    if type_token.startswith("aws:s3/bucket"):
        prefix = inputs.get("bucketPrefix")
        bucket = inputs.get("bucket") or (f"{prefix}{_fake_id(name)}" if prefix else f"{name}-bucket")
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    if type_token == "aws:kms/key:Key":
        return {"arn": f"arn:aws:kms:{inputs.get('region') or 'us-east-1'}:123456789012:key/{rid}", "keyId": rid}
    if type_token == "aws:iam/accessKey:AccessKey":
        return {"secret": f"mock-secret-access-key-{_fake_id(name)}", "status": "Active"}
    if type_token == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name") or name
        region = "us-east-1"
        return {
            "arn": f"arn:aws:eks:{region}:123456789012:cluster/{cluster}",
            "endpoint": f"https://{_fake_id(name).upper()}.gr7.{region}.eks.amazonaws.com",
            "certificateAuthority": {"data": "bW9jay1la3MtY2E="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{_fake_id(name)}"}]}],
            "status": "ACTIVE",
            "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_fake_id(name)}0000a"},
            # EKS's own pick for a VPC in 10.0.0.0/8 when the config names no service range.
            "kubernetesNetworkConfig": {
                **(inputs.get("kubernetesNetworkConfig") or {}),
                "serviceIpv4Cidr": "172.20.0.0/16",
                "ipFamily": "ipv4",
            },
        }
    if type_token == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{inputs.get('name') or name}"}
    if type_token == "aws:iam/role:Role":
        # Auto-named, as the provider names it: the resource name and a random suffix.
        role = inputs.get("name") or f"{inputs.get('namePrefix') or name + '-'}{_fake_id(name)[:7]}"
        return {"arn": f"arn:aws:iam::123456789012:role/{role}", "name": role}
    if type_token.startswith("aws:iam/"):
        return {"arn": f"arn:aws:iam::123456789012:{type_token.rsplit(':', maxsplit=1)[-1].lower()}/{name}"}
    aws_outputs = _aws_data_outputs(type_token, name, inputs, rid)
    if aws_outputs is not None:
        return aws_outputs
    return {}


def _tls_outputs(type_token: str, name: str) -> dict[str, Any]:
    """pulumi-tls: PEM-shaped stand-ins (the private keys are secret outputs of the real provider)."""

    def pem(kind: str) -> str:
        return f"-----BEGIN {kind}-----\nMOCK-{_fake_id(name)}\n-----END {kind}-----\n"

    if type_token == "tls:index/privateKey:PrivateKey":
        return {"privateKeyPem": pem("PRIVATE KEY"), "publicKeyPem": pem("PUBLIC KEY")}
    if type_token == "tls:index/certRequest:CertRequest":
        return {"certRequestPem": pem("CERTIFICATE REQUEST")}
    if type_token in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
        return {"certPem": pem("CERTIFICATE"), "readyForRenewal": False}
    return {}


def _aws_data_outputs(type_token: str, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any] | None:
    """Computed outputs of the AWS data services (RDS, ElastiCache, security groups, Pod Identity)."""
    region, account = "us-east-1", "123456789012"
    if type_token == "aws:rds/instance:Instance":
        identifier = inputs.get("identifier") or f"{inputs.get('identifierPrefix') or name + '-'}{_fake_id(name)[:7]}"
        address = f"{identifier}.c{_fake_id(name)[:10]}.{region}.rds.amazonaws.com"
        outputs: dict[str, Any] = {
            "identifier": identifier,
            "arn": f"arn:aws:rds:{region}:{account}:db:{identifier}",
            "address": address,
            "endpoint": f"{address}:5432",
            "port": 5432,
            "resourceId": f"db-{_fake_id(name).upper()}",
        }
        if inputs.get("manageMasterUserPassword"):
            outputs["masterUserSecrets"] = [
                {
                    "secretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:rds!db-{_fake_id(name)}-AbCdEf",
                    "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"),
                    "secretStatus": "active",
                }
            ]
        return outputs
    if type_token in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup"):
        group = inputs.get("name") or f"{name}-{_fake_id(name)[:7]}"
        kind = "subgrp" if "subnet" in type_token else "pg"
        return {"name": group, "arn": f"arn:aws:rds:{region}:{account}:{kind}:{group}"}
    if type_token == "aws:elasticache/replicationGroup:ReplicationGroup":
        group_id = inputs.get("replicationGroupId") or f"{name}-{_fake_id(name)[:7]}"
        return {
            "replicationGroupId": group_id,
            "arn": f"arn:aws:elasticache:{region}:{account}:replicationgroup:{group_id}",
            "primaryEndpointAddress": f"master.{group_id}.abcdef.use1.cache.amazonaws.com",
            "readerEndpointAddress": f"replica.{group_id}.abcdef.use1.cache.amazonaws.com",
            "port": inputs.get("port") or 6379,
            # ElastiCache names a non-cluster-mode group's nodes <group>-001, -002, ...
            "memberClusters": [f"{group_id}-{n:03d}" for n in range(1, int(inputs.get("numCacheClusters") or 1) + 1)],
        }
    if type_token == "aws:elasticache/user:User":
        return {"arn": f"arn:aws:elasticache:{region}:{account}:user:{inputs.get('userId')}"}
    if type_token == "aws:elasticache/userGroup:UserGroup":
        return {"arn": f"arn:aws:elasticache:{region}:{account}:usergroup:{inputs.get('userGroupId')}"}
    if type_token == "aws:elasticache/subnetGroup:SubnetGroup":
        return {"name": inputs.get("name") or f"{name}-{_fake_id(name)[:7]}"}
    if type_token == "aws:ec2/securityGroup:SecurityGroup":
        return {"arn": f"arn:aws:ec2:{region}:{account}:security-group/{rid}"}
    if type_token == "aws:sqs/queue:Queue":
        # What SQS makes of name_prefix: the prefix plus a 26-character unique suffix.
        queue = inputs.get("name") or f"{inputs.get('namePrefix') or name + '-'}{_fake_id(name)[:26]}"
        return {
            "name": queue,
            "arn": f"arn:aws:sqs:{region}:{account}:{queue}",
            "url": f"https://sqs.{region}.amazonaws.com/{account}/{queue}",
        }
    if type_token == "aws:sns/topic:Topic":
        topic = inputs.get("name") or f"{name}-{_fake_id(name)[:7]}"
        return {"name": topic, "arn": f"arn:aws:sns:{region}:{account}:{topic}"}
    if type_token == "aws:cloudwatch/metricAlarm:MetricAlarm":
        alarm = inputs.get("name") or f"{name}-{_fake_id(name)[:7]}"
        return {"name": alarm, "arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}"}
    if type_token == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
        association = f"a-{_fake_id(name)}"
        return {
            "associationId": association,
            "associationArn": f"arn:aws:eks:{region}:{account}:podidentityassociation/{inputs.get('clusterName')}/"
            f"{association}",
        }
    return None


INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "digitalocean:index/getKubernetesVersions:getKubernetesVersions": lambda a: {
        "latestVersion": f"{a.get('versionPrefix', '1.35.')}4-do.0",
        "validVersions": [f"{a.get('versionPrefix', '1.35.')}4-do.0", f"{a.get('versionPrefix', '1.35.')}3-do.0"],
        "versionPrefix": a.get("versionPrefix"),
    },
    "digitalocean:index/getKubernetesCluster:getKubernetesCluster": lambda a: {
        "id": "cluster-id",
        "name": a["name"],
        "endpoint": "https://mock.k8s.ondigitalocean.com",
        "kubeConfigs": [{"rawConfig": KUBECONFIG, "token": "mock-short-lived-token"}],
        "status": "running",
    },
    "digitalocean:index/getLoadBalancer:getLoadBalancer": lambda a: {
        "id": "lb-id",
        "name": a.get("name"),
        "ip": "203.0.113.50",
        "loadBalancerUrn": "do:loadbalancer:lb-id",
        "status": "active",
    },
    "digitalocean:index/getDatabaseMetricsCredentials:getDatabaseMetricsCredentials": lambda a: {
        "username": "metrics-user",
        "password": "metrics-password",
    },
    "digitalocean:index/getDatabaseCa:getDatabaseCa": lambda a: {
        "id": a.get("clusterId"),
        "clusterId": a.get("clusterId"),
        "certificate": "-----BEGIN CERTIFICATE-----\nMOCK-CA\n-----END CERTIFICATE-----\n",
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": "123456789012",
        "arn": "arn:aws:iam::123456789012:user/ci",
        "userId": "AIDATEST",
    },
    "aws:index/getRegion:getRegion": lambda a: {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"},
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "dnsSuffix": "amazonaws.com"},
    # Listed out of order on purpose: the program must not rely on the API's ordering.
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "id": "us-east-1",
        "names": [f"us-east-1{s}" for s in "cabfde"],
        "zoneIds": [f"use1-az{n}" for n in (6, 1, 2, 3, 4, 5)],
        "groupNames": ["us-east-1"],
    },
    "aws:iam/getPolicyDocument:getPolicyDocument": lambda a: {"json": json.dumps(_policy_json(a))},
}


def _policy_json(args: dict[str, Any]) -> dict[str, Any]:
    """A faithful rendering of aws.iam.get_policy_document's statements (for policy assertions)."""
    statements = []
    for s in args.get("statements", []):
        stmt: dict[str, Any] = {"Effect": s.get("effect", "Allow")}
        if s.get("sid"):
            stmt["Sid"] = s["sid"]
        if s.get("actions"):
            stmt["Action"] = s["actions"]
        if s.get("resources"):
            stmt["Resource"] = s["resources"]
        if s.get("principals"):
            stmt["Principal"] = {p["type"]: p["identifiers"] for p in s["principals"]}
        if s.get("conditions"):
            cond: dict[str, Any] = {}
            for c in s["conditions"]:
                cond.setdefault(c["test"], {})[c["variable"]] = c["values"]
            stmt["Condition"] = cond
        statements.append(stmt)
    return {"Version": "2012-10-17", "Statement": statements}


class PlatformMocks(pulumi.runtime.Mocks):
    """Mocks that answer like the real providers would (see module docstring)."""

    def __init__(self, preview: bool) -> None:
        self.preview = preview
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """Every invoke the program made: (token, plain args)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs, _ = _unwrap(copy.deepcopy(args.inputs))
        if self.preview and not args.resource_id:
            # A first preview: nothing exists yet, so no id and no computed outputs.
            return "", dict(inputs)
        rid = fake_resource_id(args.typ, args.name)
        return rid, {**inputs, **outputs_for(args.typ, args.name, inputs, rid)}

    # A plain dict, not the stub's (dict, failures) tuple: the monitor accepts both, and FACTS.md notes
    # the tuple form trips some SDK paths.
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        handler = INVOKES.get(args.token)
        if handler is None:
            raise NotImplementedError(f"tests/harness.py has no mock for invoke {args.token}; add one to INVOKES")
        plain, _ = _unwrap(args.args)
        self.calls.append((args.token, plain))
        return handler(plain)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """pulumi's MockMonitor, plus a record of each registration's options and inputs."""

    def __init__(self, mocks: PlatformMocks) -> None:
        super().__init__(mocks)
        self.records: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        inputs: dict[str, Any] = {}
        secret_keys = set()
        for key, value in raw.items():
            inputs[key], secret = _unwrap(value)
            if secret:
                secret_keys.add(key)
        registration = self.resources[response.urn]
        outputs, _ = _unwrap(dict(registration.state or {}))
        self.records.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                inputs=inputs,
                secret_inputs=frozenset(secret_keys),
                outputs=outputs,
                parent=request.parent,
                protect=bool(request.protect),
                dependencies=tuple(request.dependencies),
                provider=request.provider,
                ignore_changes=tuple(request.ignoreChanges),
                custom=bool(request.custom),
                delete_before_replace=bool(request.deleteBeforeReplace),
                id=registration.id or "",
                replace_on_changes=tuple(request.replaceOnChanges),
            )
        )
        return response


# ------------------------------------------------------------------------------------------------
# Running


def stack_file_config(stack: str) -> dict[str, Any]:
    """The committed ``Pulumi.<stack>.yaml`` config block (``secure:`` entries excluded)."""
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = data.get("config") or {}
    return {k: v for k, v in config.items() if not (isinstance(v, dict) and "secure" in v)}


def _wire(value: Any) -> str:
    """Config values reach the program as strings; structured ones as JSON (as the CLI sends them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay ``override`` on ``base``; a value of None deletes the key."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def run(
    program: Callable[[], Any],
    *,
    stack: str,
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    plaintext: Mapping[str, str] | None = None,
    preview: bool = False,
) -> StackRun:
    """Run ``program`` under fresh mocks, in its own event loop; return what it registered.

    ``config`` keys may be given with or without the ``platform:`` prefix; ``secrets`` are set as
    secret config, ``plaintext`` as plain config (to test that a secret stored in clear is refused).
    """
    values: dict[str, str] = {}
    for key, value in (config or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        values[full] = _wire(value)
    secret_keys = []
    for key, value in (secrets or {}).items():
        values[f"{PROJECT}:{key}"] = value
        secret_keys.append(f"{PROJECT}:{key}")
    for key, value in (plaintext or {}).items():
        values[f"{PROJECT}:{key}"] = value

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(values, secret_keys)
    mocks = PlatformMocks(preview)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    result = StackRun(stack=stack, preview=preview, resources=monitor.records, calls=mocks.calls)

    async def collect_exports() -> None:
        root = settings.get_root_resource()
        for name, value in getattr(root, "outputs", {}).items():
            output = pulumi.Output.from_input(value)
            result.outputs[name] = _unwrap(await output.future(with_unknowns=True))[0]
            if await output.is_secret():
                result.secret_outputs.add(name)

    @pulumi.runtime.test
    def body() -> Any:
        program()
        return pulumi.Output.from_input(asyncio.ensure_future(collect_exports()))

    try:
        body()
    except Exception as exc:
        # Tests of failing programs still need to see what was registered before the failure.
        exc.stack_run = result  # type: ignore[attr-defined]
        raise
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        pulumi.runtime.set_all_config({}, [])
    return result


def run_main(
    stack: str,
    *,
    preview: bool = False,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = TEST_SECRETS,
    plaintext: Mapping[str, str] | None = None,
) -> StackRun:
    """Run ``__main__.py`` for a committed stack, optionally with config overrides (deep-merged)."""
    config = deep_merge(
        {k.removeprefix(f"{PROJECT}:"): v for k, v in stack_file_config(stack).items()}, overrides or {}
    )
    return run(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        stack=stack,
        config=config,
        secrets=secrets,
        plaintext=plaintext,
        preview=preview,
    )


def component_run(build: Callable[[], Any], *, preview: bool = False, stack: str = "staging") -> StackRun:
    """Run a function that constructs one component (no config involved)."""
    return run(build, stack=stack, preview=preview)


def find(resources: Iterable[Resource], type_token: str) -> list[Resource]:
    return [r for r in resources if r.type == type_token]


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


__all__ = [
    "INVOKES",
    "KUBECONFIG",
    "PROGRAM",
    "ROOT",
    "TEST_SECRETS",
    "UNKNOWN",
    "PlatformMocks",
    "RecordingMonitor",
    "Resource",
    "StackRun",
    "component_run",
    "deep_merge",
    "fake_resource_id",
    "find",
    "is_unknown",
    "outputs_for",
    "resource_pb2",
    "run",
    "run_main",
    "stack_file_config",
]
