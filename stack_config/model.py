"""The root of a stack's configuration: one field per top-level ``platform:<key>``."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from .base import StrictModel
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

    _region = field_validator("region")(classmethod(lambda cls, v: _one_of(v, REGIONS, "region")))

    @field_validator("protect")
    @classmethod
    def _protect(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "production" and not value:
            raise ValueError("production must protect its databases and volumes: set protect to true")
        return value

    @property
    def name_prefix(self) -> str:
        """Prefix of every physical resource name: ``<tenant>-<environment>``."""
        return f"{self.tenant.name}-{self.environment}"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"
