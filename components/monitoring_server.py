"""The monitoring droplet: Prometheus, Alertmanager and Grafana with their data on a volume."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_random as random
import pulumi_tls as tls

from observability.cloud_init import (
    MonitoringHost,
    MonitoringSecrets,
    RemoteWriteTls,
    render_user_data,
    tenant_problems,
)
from observability.loki import LOKI_PORT, PUSH_PATH
from observability.prometheus import GRAFANA_PORT, PROMETHEUS_PORT
from observability.remote_write_proxy import REMOTE_WRITE_PATH, REMOTE_WRITE_TLS_PORT
from observability.tenants import DIGITALOCEAN_ONLY, TenantDashboard, TenantRuleGroup, tenant_receiver_secrets
from stack_config.tenants import TenantEntry

# Only Prometheus and Loki are reachable, and only from the cluster (the in-cluster agents' remote
# write and log push). Alertmanager
# (9093) and node_exporter (9100) are scraped over localhost and reached by admins through an SSH
# tunnel, so no rule opens them. The public remote-write port (9443, EKS stacks only) is opened by a second
# firewall made after the EKS cluster, which alone knows its NAT addresses (components/eks_metrics_agent.py).

# The public remote-write endpoint's private CA (EKS stacks only). The CA lives ten years and is renewed a year
# early; the server certificate lives one year and is renewed 30 days early. Renewal happens on the first
# `pulumi up` inside that window (pulumi_tls plans a replacement once early_renewal_hours is reached): a new
# server certificate changes the user-data, which replaces the droplet (volume and reserved IP are kept, see
# MonitoringServer); the EKS agent buffers in its WAL meanwhile and keeps trusting the same CA. A CA renewal
# also re-signs the server certificate and updates the agent's Secret in the same run. A stack nobody runs
# `up` on for 30 days past the window lets the certificate expire: the agent's remote write then fails
# (prometheus_remote_storage_samples_failed_total) until the next `up`.
CA_VALIDITY_HOURS = 10 * 365 * 24
CA_EARLY_RENEWAL_HOURS = 365 * 24
SERVER_CERT_VALIDITY_HOURS = 365 * 24
SERVER_CERT_EARLY_RENEWAL_HOURS = 30 * 24
REMOTE_WRITE_PASSWORD_LENGTH = 40


@dataclass(frozen=True)
class TenantReceiver:
    """A tenant's own alert webhook: its alerts (label ``tenant=<name>``) are posted there too."""

    tenant: str
    webhook_url: pulumi.Input[str]
    """A secret (catalog ``alertReceiver.webhookSecret`` names the config key); never a plain string."""


def tenant_receivers(
    entries: Iterable[TenantEntry],
    secret: Callable[[str], pulumi.Input[str]],
    monitored_targets: Collection[str] = DIGITALOCEAN_ONLY,
) -> tuple[TenantReceiver, ...]:
    """The receivers the tenants' catalogs declare, their URLs read with ``secret`` (e.g. ``Secrets.require``);
    ``monitored_targets`` as in observability/tenants.py."""
    return tuple(
        TenantReceiver(t, secret(key)) for t, key in tenant_receiver_secrets(entries, monitored_targets).items()
    )


@dataclass(frozen=True)
class PublicRemoteWrite:
    """What a remote agent (the EKS one) needs to write to the public endpoint."""

    url: pulumi.Output[str]
    """https://<reserved ip>:9443/api/v1/write"""
    ip: pulumi.Output[str]
    """The reserved IP (the agent's only egress destination)."""
    ca_pem: pulumi.Output[str]
    """The private CA to pin."""
    password: pulumi.Output[str]
    """Basic-auth password (secret)."""


@dataclass(frozen=True)
class MonitoringServerArgs:
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    """The VPC's range; admitted to ICMP only (ping from inside the VPC)."""
    cluster_id: pulumi.Input[str]
    """DOKS cluster whose nodes may remote-write to Prometheus (a ``source_kubernetes_ids`` rule)."""
    cluster_subnet: str
    """Pod CIDR of the VPC-native cluster: the in-cluster agent's remote write arrives from a pod address."""
    size: str
    image: str
    """Ubuntu LTS image slug."""
    volume_size_gib: int
    retention_days: int
    backups: bool
    admin_cidrs: Sequence[str]
    """May reach SSH and Grafana. Empty: nothing outside the VPC can."""
    tenant: str
    environment: str
    tags: Sequence[str]
    protect: bool
    """Protect the data volume (production)."""
    grafana_admin_password: pulumi.Input[str]
    paging_webhook_url: pulumi.Input[str]
    chat_webhook_url: pulumi.Input[str]
    ssh_key_fingerprints: Sequence[str] = ()
    """Default: no SSH key (access through the DigitalOcean console/droplet agent)."""
    log_retention_days: int = 30
    """How long Loki keeps the cluster's logs. Default: 30 days."""
    tenant_rule_groups: Sequence[TenantRuleGroup] = ()
    """The tenants' alert rules (observability/tenants.py ``tenant_rule_groups``). Default: none."""
    tenant_dashboards: Sequence[TenantDashboard] = ()
    """The tenants' dashboards (``tenant_dashboards``), a Grafana folder per tenant. Default: none."""
    tenant_receivers: Sequence[TenantReceiver] = ()
    """Tenants' own alert webhooks (``tenant_receivers``). Default: tenants' alerts reach the platform's only."""
    public_remote_write: bool = False
    """Serve remote write on the reserved IP with TLS (private CA) and basic auth (nginx on
    REMOTE_WRITE_TLS_PORT), for the EKS cluster's agent. Default: off, and then the user-data is byte-identical
    to a stack that predates the option (no droplet replacement)."""


class MonitoringServer(pulumi.ComponentResource):
    """A replaceable droplet whose state lives on an attached, protectable volume.

    Changing the rendered user-data replaces the droplet; the volume and the reserved IP survive,
    so dashboards, TSDB and silences are kept and the address the cluster writes to stays put.
    """

    droplet_id: pulumi.Output[str]
    """Droplet id (a DatabaseFirewall ``droplet`` rule value)."""
    droplet_urn: pulumi.Output[str]
    volume_urn: pulumi.Output[str]
    reserved_ip_urn: pulumi.Output[str]
    public_ip: pulumi.Output[str]
    """Reserved (stable) public IPv4."""
    private_ip: pulumi.Output[str]
    """VPC address of the droplet."""
    remote_write_url: pulumi.Output[str]
    """Prometheus remote-write endpoint on the VPC (the in-cluster agent's target)."""
    loki_push_url: pulumi.Output[str]
    """Loki push endpoint on the VPC (the in-cluster log agent's target)."""
    public_remote_write_url: pulumi.Output[str] | None
    """https://<reserved ip>:9443/api/v1/write (the EKS agent's target). None unless ``public_remote_write``."""
    remote_write_ca_pem: pulumi.Output[str] | None
    """The private CA certificate the EKS agent pins. None unless ``public_remote_write``."""
    remote_write_password: pulumi.Output[str] | None
    """Basic-auth password of that endpoint (secret). None unless ``public_remote_write``."""
    public_remote_write: PublicRemoteWrite | None
    """The three above with the reserved IP, together (EksMetricsAgentArgs takes them). None unless enabled."""

    def __init__(self, name: str, args: MonitoringServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        host = MonitoringHost(
            tenant=args.tenant,
            environment=args.environment,
            name=name,
            volume_name=f"{name}-data",
            volume_size_gib=args.volume_size_gib,
            retention_days=args.retention_days,
            log_retention_days=args.log_retention_days,
            tenant_rule_groups=tuple(args.tenant_rule_groups),
            tenant_dashboards=tuple(args.tenant_dashboards),
            remote_write_proxy=args.public_remote_write,
        )
        # Checked before anything is registered (the URLs are Outputs; only the tenant names matter here).
        receiver_names = [r.tenant for r in args.tenant_receivers]
        problems = [
            f"tenant_receivers: tenant {n!r} is given twice: one receiver per tenant"
            for n in sorted({n for n in receiver_names if receiver_names.count(n) > 1})
        ]
        problems += tenant_problems(host, MonitoringSecrets("", "", "", dict.fromkeys(receiver_names, "")))
        if problems:
            raise ValueError(f"MonitoringServer {name}: " + "; ".join(problems))
        super().__init__("platform:monitoring:MonitoringServer", name, None, opts)
        volume_name = host.volume_name
        volume = do.Volume(
            f"{name}-data",
            name=volume_name,
            region=args.region,
            size=args.volume_size_gib,
            initial_filesystem_type="ext4",
            initial_filesystem_label="monitoring",
            description=f"Prometheus/Alertmanager/Grafana data of {args.tenant} {args.environment}",
            tags=list(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        # Before the droplet: the public endpoint's certificate names this address, and it is in the user-data.
        reserved_ip = do.ReservedIp(f"{name}-ip", region=args.region, opts=pulumi.ResourceOptions(parent=self))
        self.public_remote_write_url = None
        self.remote_write_ca_pem = None
        self.remote_write_password = None
        self.public_remote_write = None
        remote_write: pulumi.Output[RemoteWriteTls | None] = pulumi.Output.from_input(None)
        if args.public_remote_write:
            remote_write = self._remote_write_tls(name, reserved_ip.ip_address)

        # The rendered document embeds the Grafana password and webhook URLs (the tenants' too) and, on EKS
        # stacks, the endpoint's private key: it stays a secret Output end to end (encrypted in state, masked
        # in logs and diffs).
        user_data: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(
                remote_write,
                args.grafana_admin_password,
                args.paging_webhook_url,
                args.chat_webhook_url,
                *(r.webhook_url for r in args.tenant_receivers),
            ).apply(
                lambda v: render_user_data(
                    host,
                    MonitoringSecrets(
                        grafana_admin_password=v[1],
                        paging_webhook_url=v[2],
                        chat_webhook_url=v[3],
                        tenant_webhook_urls=dict(zip(receiver_names, v[4:], strict=True)),
                        remote_write=v[0],
                    ),
                )
            )
        )

        droplet = do.Droplet(
            f"{name}-droplet",
            name=name,
            region=args.region,
            size=args.size,
            image=args.image,
            vpc_uuid=args.vpc_id,
            monitoring=True,  # the metrics agent DigitalOcean's memory/disk alerts need
            backups=args.backups,
            ipv6=False,
            graceful_shutdown=True,
            ssh_keys=list(args.ssh_key_fingerprints) or None,
            user_data=user_data,
            tags=list(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Replacement order (a user-data change replaces the droplet, create-before-delete): the new
        # droplet boots and its mount script waits for the volume; then each attachment below is
        # replaced. A volume attaches to one droplet at a time, so the default create-before-delete
        # would try to attach it to the new droplet while the old one still holds it, and fail with
        # the data stranded on the old droplet. delete_before_replace detaches first, then attaches
        # to the new droplet; the old droplet is deleted last. replace_on_changes makes the
        # replacement explicit instead of relying on the provider marking droplet_id ForceNew.
        do.VolumeAttachment(
            f"{name}-data-attachment",
            droplet_id=droplet.id.apply(int),
            volume_id=volume.id,
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, replace_on_changes=["dropletId", "volumeId"]
            ),
        )
        # Same order for the reserved IP: creating the new assignment first moves the IP to the new
        # droplet, and deleting the old assignment afterwards would unassign it from there.
        do.ReservedIpAssignment(
            f"{name}-ip-assignment",
            ip_address=reserved_ip.ip_address,
            droplet_id=droplet.id.apply(int),
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, replace_on_changes=["dropletId", "ipAddress"]
            ),
        )

        # Remote write comes from the agent pod. On a VPC-native cluster its packets keep the pod
        # address (the pod subnet is routed inside the VPC, no SNAT to the node), so the pod subnet
        # must be admitted; the cluster rule (its node droplets) covers host-network clients. Nothing
        # else in the VPC (databases, load balancers, other droplets) may write metrics.
        # Loki's push port is admitted the same way: logs arrive from the log agent's pod.
        inbound = [
            *(
                do.FirewallInboundRuleArgs(
                    protocol="tcp",
                    port_range=str(port),
                    source_addresses=[args.cluster_subnet],
                    source_kubernetes_ids=[args.cluster_id],
                )
                for port in (PROMETHEUS_PORT, LOKI_PORT)
            ),
            do.FirewallInboundRuleArgs(protocol="icmp", source_addresses=[args.vpc_cidr]),
        ]
        if args.admin_cidrs:
            inbound += [
                do.FirewallInboundRuleArgs(protocol="tcp", port_range=port, source_addresses=list(args.admin_cidrs))
                for port in ("22", str(GRAFANA_PORT))
            ]
        everywhere = ["0.0.0.0/0", "::/0"]
        do.Firewall(
            f"{name}-firewall",
            name=f"{name}-firewall",
            droplet_ids=[droplet.id.apply(int)],
            inbound_rules=inbound,
            # Outbound stays open: apt, Grafana's repository, alert webhooks.
            outbound_rules=[
                do.FirewallOutboundRuleArgs(protocol="tcp", port_range="1-65535", destination_addresses=everywhere),
                do.FirewallOutboundRuleArgs(protocol="udp", port_range="1-65535", destination_addresses=everywhere),
                do.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=everywhere),
            ],
            # No `tags` here: on a cloud firewall they are a *selector* (every droplet carrying them goes
            # behind this firewall), and the stack tags are on the Kubernetes nodes too.
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.droplet_id = droplet.id
        self.droplet_urn = droplet.droplet_urn
        self.volume_urn = volume.volume_urn
        self.reserved_ip_urn = reserved_ip.reserved_ip_urn
        self.public_ip = reserved_ip.ip_address
        self.private_ip = droplet.ipv4_address_private
        self.remote_write_url = pulumi.Output.format("http://{0}:{1}/api/v1/write", self.private_ip, PROMETHEUS_PORT)
        self.loki_push_url = pulumi.Output.format("http://{0}:{1}{2}", self.private_ip, LOKI_PORT, PUSH_PATH)
        public: dict[str, pulumi.Output[str]] = {}
        if args.public_remote_write:
            self.public_remote_write_url = pulumi.Output.format(
                "https://{0}:{1}{2}", self.public_ip, REMOTE_WRITE_TLS_PORT, REMOTE_WRITE_PATH
            )
            public = {"public_remote_write_url": self.public_remote_write_url}
            if self.remote_write_ca_pem is not None and self.remote_write_password is not None:
                self.public_remote_write = PublicRemoteWrite(
                    url=self.public_remote_write_url,
                    ip=self.public_ip,
                    ca_pem=self.remote_write_ca_pem,
                    password=self.remote_write_password,
                )
        self.register_outputs(
            {
                "droplet_id": self.droplet_id,
                "public_ip": self.public_ip,
                "private_ip": self.private_ip,
                "remote_write_url": self.remote_write_url,
                "loki_push_url": self.loki_push_url,
                **public,
            }
        )

    def _remote_write_tls(self, name: str, ip_address: pulumi.Output[str]) -> pulumi.Output[RemoteWriteTls | None]:
        """The private CA, the server certificate for ``ip_address`` and the basic-auth password.

        ECDSA P-256 keys: nginx and Prometheus's Go TLS both speak it, and it is the cheapest to renew. The CA
        key signs nothing else; it lives only in (encrypted) state.
        """
        opts = pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(f"{name}-rw-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        ca = tls.SelfSignedCert(
            f"{name}-rw-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name} remote-write CA"),
            validity_period_hours=CA_VALIDITY_HOURS,
            early_renewal_hours=CA_EARLY_RENEWAL_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
            opts=opts,
        )
        server_key = tls.PrivateKey(f"{name}-rw-server-key", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        request = tls.CertRequest(
            f"{name}-rw-server-csr",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=f"{name} remote write"),
            # The agent dials the reserved IP, and Go checks an IP against IP SANs only.
            ip_addresses=[ip_address],
            opts=opts,
        )
        server = tls.LocallySignedCert(
            f"{name}-rw-server-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=SERVER_CERT_VALIDITY_HOURS,
            early_renewal_hours=SERVER_CERT_EARLY_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=opts,
        )
        # Letters and digits only: the agent reads it from a file and sends it in a header; nothing to escape.
        password = random.RandomPassword(
            f"{name}-rw-password", length=REMOTE_WRITE_PASSWORD_LENGTH, special=False, opts=opts
        )
        self.remote_write_ca_pem = ca.cert_pem
        self.remote_write_password = pulumi.Output.secret(password.result)
        # The key is a secret output of the provider; the whole user-data is wrapped secret anyway.
        key_pem: pulumi.Output[str] = pulumi.Output.secret(server_key.private_key_pem)
        return pulumi.Output.all(server.cert_pem, key_pem, password.bcrypt_hash).apply(
            lambda v: RemoteWriteTls(certificate_pem=v[0], private_key_pem=v[1], password_bcrypt_hash=v[2])
        )
