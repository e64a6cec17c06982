"""The root of a stack's configuration: one field per top-level ``platform:<key>``."""

from __future__ import annotations

import ipaddress

from pydantic import Field, ValidationInfo, field_validator

from .apps import AppsConfig
from .backup import BackupConfig
from .base import StrictModel
from .budget import BudgetConfig
from .edge import AddonsConfig, EdgeConfig
from .eks import AwsTenantData, EksConfig, aws_pool_problems, aws_tenant_problems, catalog_queues, queue_sender_problems
from .infra import (
    REGIONS,
    CacheConfig,
    ClusterConfig,
    Environment,
    MonitoringConfig,
    NetworkConfig,
    PostgresConfig,
    TenantConfig,
    _one_of,
    environment_of,
)
from .observability import ObservabilityConfig
from .tenants import TenantEntry, TenantsProblem, check_tenants


class StackConfig(StrictModel):
    """Everything a stack may set. Defaults live here; stack files hold only what differs."""

    environment: Environment = Field(description="staging or production: selects the per-environment rules.")
    tenant: TenantConfig = Field(description="The system this stack deploys (names, tags, project).")
    region: str = Field(default="nyc1", description="DigitalOcean region of every resource (seed: nyc1).")
    protect: bool = Field(
        default=False,
        description="Protect stateful resources (databases, volumes) from deletion. Required in production.",
    )
    network: NetworkConfig = Field(description="The stack's VPC.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    postgres: PostgresConfig = Field(default_factory=PostgresConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    # default_factory=dict, not BackupConfig: the empty default is then validated with the stack's
    # environment, so a production stack without a backup section still meets production's rules.
    backup: BackupConfig = Field(default_factory=dict, description="Off-site backups on AWS S3.")  # type: ignore[assignment]
    # Same trick as backup: production's rules apply to the defaults of a stack that never mentions eks.
    eks: EksConfig = Field(  # type: ignore[assignment]
        default_factory=dict, description="EKS Auto Mode on AWS, the enterprise-scale target (docs/eks.md)."
    )
    addons: AddonsConfig = Field(default_factory=AddonsConfig, description="Cluster add-ons installed with Helm.")
    apps: AppsConfig = Field(description="The tenant's in-cluster services: catalog file and per-stack overrides.")
    edge: EdgeConfig = Field(description="Public hostnames, TLS and the load balancer.")
    observability: ObservabilityConfig = Field(
        default_factory=ObservabilityConfig, description="Metrics agent and DigitalOcean-native alerts."
    )
    tenants: list[TenantEntry] = Field(
        default_factory=list,
        description="More systems on this platform, each isolated in its own namespace with its own data "
        "(stack_config/tenants.py): [{catalog: tenants/<name>.yaml, imageTag, imagePullSecret, spacesRegion, "
        "services, nodePools, cache, database}].",
    )
    # default_factory=dict like backup: the per-environment defaults need the stack's environment.
    budget: BudgetConfig = Field(  # type: ignore[assignment]
        default_factory=dict, description="Monthly cost ceilings the stack-monthly-budget guard enforces (make cost)."
    )

    _region = field_validator("region")(classmethod(lambda cls, v: _one_of(v, REGIONS, "region")))

    @field_validator("protect")
    @classmethod
    def _protect(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "production" and not value:
            raise ValueError("production must protect its databases and volumes: set protect to true")
        return value

    @field_validator("eks")
    @classmethod
    def _eks_range(cls, value: EksConfig, info: ValidationInfo) -> EksConfig:
        network = info.data.get("network")
        if network is not None and ipaddress.ip_network(value.vpc_cidr).overlaps(
            ipaddress.ip_network(network.vpc_cidr)
        ):
            raise ValueError(
                f"eks.vpcCidr {value.vpc_cidr} overlaps network.vpcCidr {network.vpc_cidr}: pick a disjoint range, "
                "or the two VPCs can never be peered or joined by a VPN"
            )
        return value

    @field_validator("addons")
    @classmethod
    def _addons_support_the_cluster(cls, value: AddonsConfig, info: ValidationInfo) -> AddonsConfig:
        cluster = info.data.get("cluster")
        if cluster is None:
            return value
        problems = value.charts.unsupported_at(int(cluster.version_prefix.split(".")[1]))
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("apps")
    @classmethod
    def _apps_pools(cls, value: AppsConfig, info: ValidationInfo) -> AppsConfig:
        cluster = info.data.get("cluster")
        if cluster is None:
            return value
        pools = (None, *cluster.pools)
        unknown = {n: s.node_pool for n, s in value.catalog.services.items() if s.node_pool not in pools}
        if unknown:
            raise ValueError(f"services pinned to node pools that cluster.pools does not define: {unknown}")
        return value

    @field_validator("tenants")
    @classmethod
    def _tenants_fit(cls, value: list[TenantEntry], info: ValidationInfo) -> list[TenantEntry]:
        cluster, tenant = info.data.get("cluster"), info.data.get("tenant")
        if cluster is None or tenant is None:
            return value
        try:
            return check_tenants(value, tenant.name, cluster.pools)
        except TenantsProblem as problem:
            raise ValueError(str(problem)) from None

    @field_validator("tenants")
    @classmethod
    def _aws_tenants_have_a_cluster(cls, value: list[TenantEntry], info: ValidationInfo) -> list[TenantEntry]:
        eks = info.data.get("eks")
        problems = aws_tenant_problems(eks, [e.name for e in value if e.tenant.target == "aws"]) if eks else []
        if eks is not None and eks.enabled:
            problems += aws_pool_problems(
                eks,
                {
                    f"{e.name}.services.{name}": (service.node_pool, service.gpus)
                    for e in value
                    if e.tenant.target == "aws"
                    for name, service in e.apps.catalog.services.items()
                },
            )
            for e in value:
                if e.tenant.target == "aws":
                    services = e.apps.catalog.services
                    data = eks.tenant_data.get(e.name) or AwsTenantData()
                    problems += queue_sender_problems(e.name, data, catalog_queues(services), sorted(services))
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @property
    def name_prefix(self) -> str:
        """Prefix of every physical resource name: ``<tenant>-<environment>``."""
        return f"{self.tenant.name}-{self.environment}"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"
