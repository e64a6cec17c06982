"""What the EKS cluster runs beyond Auto Mode: metrics-server, KEDA, and the edge (docs/eks.md, "The edge on EKS").

Every piece is the DigitalOcean cluster's, through the same helpers and components, so a tenant moves
between clouds without its routes, autoscaling or certificates changing shape:

* **metrics-server**: Auto Mode's managed components are compute (Karpenter), the VPC CNI, kube-proxy,
  CoreDNS, the EBS CSI driver, load balancing and the GPU plugins; metrics-server is not among them (AWS
  documents it as a separate community add-on), so without it the HPAs have no CPU metrics. The same
  pinned chart as a DOKS cluster that lacks one (``metrics_server_release``). Exactly one per cluster:
  ``metrics_server=False`` the day EKS ships it (a second fights over ``v1beta1.metrics.k8s.io``).
* **KEDA**: the same pinned chart and values (``keda_release``). When the ``target: aws`` tenants have SQS
  queues, KEDA's operator (namespace ``keda``, service account ``keda-operator``: the chart's
  ``serviceAccount.operator.name``, keda 2.20.2) gets a Pod Identity role that may only
  ``sqs:GetQueueAttributes`` on exactly those queues; the tenants' TriggerAuthentications say
  ``podIdentity.provider: aws`` without a roleArn, which KEDA 2.20 serves with the operator's own credentials
  (pkg/scalers/aws/aws_common.go ``GetAwsAuthorization``, pkg/scalers/aws/aws_config_cache.go
  ``GetCredentials``). The association exists before the release: the Pod Identity webhook injects credentials
  only into pods created after it. The chart's NetworkPolicies are off (``networkPolicy.enabled: false``) and
  nothing else selects the keda namespace, so the operator reaches the Pod Identity agent (169.254.170.23:80)
  and SQS (443): a pod that no NetworkPolicy selects is not isolated (Kubernetes semantics).
* **the edge**: Envoy Gateway and the one shared Gateway (``SharedGateway``), HTTPS listeners for the
  ``target: aws`` tenants' hosts, certificates from cert-manager's HTTP-01 solver on the Gateway's HTTP
  listener (``cert_manager_with_issuer``), TenantRoutes attach to it exactly as on DOKS.

The load balancer
-----------------
Auto Mode's built-in load balancing turns a ``LoadBalancer`` Service of class ``eks.amazonaws.com/nlb``
(the Auto Mode default, set explicitly so the Service never lands on another controller) into an NLB in
the public subnets EksCluster tags ``kubernetes.io/role/elb``. The proxies' Service is declared through
the EnvoyProxy's ``envoyService`` (the same hook DigitalOcean's CCM annotations use):

* ``aws-load-balancer-scheme: internet-facing`` (the default is internal);
* ``aws-load-balancer-nlb-target-type: ip``: the NLB sends to the proxy pods' VPC addresses, not to node
  ports (``allocateLoadBalancerNodePorts: false``: no node port is opened at all);
* ``aws-load-balancer-proxy-protocol: "*"``: PROXY protocol v2 on every target group, which the shared
  Gateway's ClientTrafficPolicy requires (both sides or neither). With IP targets the NLB does not
  preserve the client address itself, so the PROXY header is what carries it to the per-client rate
  limit, and a proxy reaching its own NLB (cert-manager's HTTP-01 self-check from a pod on the same node)
  is not dropped as NLB loopback traffic, which client-IP preservation with instance targets would do.
  No hairpin hostname is needed (DigitalOcean's ``do-loadbalancer-hostname``): an NLB reports only a
  hostname, so kube-proxy never short-circuits in-cluster calls to it.

DNS: the NLB's hostname is read back from the proxies' Service (fixed name ``edge-proxy``, EnvoyProxy
``envoyService.name``) once the Gateway is Programmed, and each host gets a CNAME to it in the stack's
DigitalOcean zone. An NLB's addresses change; its hostname does not, hence a CNAME, not A records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from .aws_pod_identity import AwsPodIdentity, AwsPodIdentityArgs
from .aws_queue import scaler_statements
from .edge import relative_name
from .gateway import GATEWAY_NAMESPACE, GatewayRef, SharedGateway, SharedGatewayArgs, proxy_peer
from .platform_addons import (
    ACME_SERVERS,
    GATEWAY,
    cert_manager_with_issuer,
    cluster_issuer_name,
    keda_release,
    metrics_server_release,
)
from .workload import NetworkPeer

NLB_CLASS = "eks.amazonaws.com/nlb"
"""Auto Mode's load balancer class for NLBs (docs.aws.amazon.com/eks/latest/userguide/auto-configure-nlb.html)."""
PROXY_SERVICE = "edge-proxy"
"""Name of the Envoy proxies' Service (read back for the NLB's hostname)."""
AWS_LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR_SERVICE_ACCOUNT = "keda-operator"
"""keda chart 2.20.2, values.yaml ``serviceAccount.operator.name`` (the operator runs the scalers)."""


@dataclass(frozen=True)
class EksAddonsArgs:
    keda_version: str
    metrics_server_version: str
    cert_manager_version: str
    envoy_gateway_version: str
    acme_email: str
    dns_zone: str
    """Zone on DigitalOcean DNS that holds the CNAMEs (the stack's ``edge.domain``)."""
    gateway_hosts: Sequence[str] = ()
    """FQDNs of the ``target: aws`` tenants' public routes. Empty: no edge on the cluster (KEDA and
    metrics-server only)."""
    gateway_tenants: Sequence[str] = ()
    """Tenants whose namespaces may attach routes. Required with hosts."""
    rate_limit_rpm: int = 100
    acme_server: str = "production"
    """Let's Encrypt directory: ``production`` or ``staging``."""
    replicas: int = 2
    """Envoy proxies. Default: two, spread over nodes."""
    metrics_server: bool = True
    """Default: install it (Auto Mode ships none, module docstring)."""
    dns_ttl: int = 300
    cluster_name: pulumi.Input[str] | None = None
    """The EKS cluster, for the KEDA operator's Pod Identity association. Required with ``queue_arns``."""
    queue_arns: Sequence[pulumi.Input[str]] = ()
    """SQS queues of the aws tenants whose length KEDA reads (``AwsTenant.queue_arns``). Default: none (no AWS
    role for KEDA). Needs an ``aws`` provider among the component's providers."""


class EksAddons(pulumi.ComponentResource):
    """metrics-server, KEDA and the Envoy Gateway edge on the EKS cluster (module docstring)."""

    keda: list[pulumi.Resource]
    """What a ScaledObject/TriggerAuthentication must wait for."""
    gateway: GatewayRef | None
    """The cluster's shared Gateway (None without hosts)."""
    ingress_controller: NetworkPeer | None
    """The Envoy proxies as a NetworkPolicy peer (None without hosts)."""
    edge_resources: list[pulumi.Resource]
    """What TenantRoutes wait for (the controller and its CRDs)."""
    load_balancer_hostname: pulumi.Output[str] | None
    """The NLB's DNS name, read back from the proxies' Service (None without hosts)."""
    urls: dict[str, str]
    """https URL of each host."""

    def __init__(self, name: str, args: EksAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = eks_addons_problems(args)
        if problems:
            raise ValueError("eks addons: " + "; ".join(problems))
        super().__init__("platform:eks:EksAddons", name, None, opts)

        keda_identity: list[pulumi.Resource] = []
        if args.queue_arns:
            keda_identity.append(
                AwsPodIdentity(
                    f"{name}-keda-operator",
                    AwsPodIdentityArgs(
                        cluster_name=args.cluster_name or "",
                        namespace=KEDA_NAMESPACE,
                        service_account=KEDA_OPERATOR_SERVICE_ACCOUNT,
                        statements=pulumi.Output.all(*args.queue_arns).apply(scaler_statements),
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.keda = [keda_release(name, self, args.keda_version, after=keda_identity)]
        if args.metrics_server:
            metrics_server_release(name, self, args.metrics_server_version)

        self.gateway = None
        self.ingress_controller = None
        self.edge_resources = []
        self.load_balancer_hostname = None
        self.urls = {}
        hosts = sorted(set(args.gateway_hosts))
        if hosts:
            self._edge(name, args, hosts)
        self.register_outputs({"load_balancer_hostname": self.load_balancer_hostname, "urls": self.urls})

    def _edge(self, name: str, args: EksAddonsArgs, hosts: list[str]) -> None:
        issuer = cluster_issuer_name(args.acme_server)
        shared = SharedGateway(
            f"{name}-gateway",
            SharedGatewayArgs(
                chart_version=args.envoy_gateway_version,
                hosts=hosts,
                tenants=args.gateway_tenants,
                cluster_issuer=issuer,
                # DigitalOcean's fields, unused with envoy_service (the NLB is declared by the Service).
                load_balancer_name=PROXY_SERVICE,
                load_balancer_hostname="",
                load_balancer_size_unit=0,
                rate_limit_rpm=args.rate_limit_rpm,
                replicas=args.replicas,
                envoy_service=nlb_service(),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The solver's routes land on the Gateway's HTTP listener: DNS points at this NLB.
        cert_manager_with_issuer(
            name,
            self,
            version=args.cert_manager_version,
            gateway_api=True,
            issuer=issuer,
            email=args.acme_email,
            serving=GATEWAY,
            acme_server=args.acme_server,
            after=[shared.release],
            edges=[shared.release],
        )

        # Read once the Gateway exists (created = Programmed = the Service has the NLB's address); during a
        # first preview the id is unknown, so nothing is read for a Service that does not exist yet.
        service = k8s.core.v1.Service.get(
            f"{name}-proxy-service",
            shared.gateway.id.apply(lambda _programmed: f"{GATEWAY_NAMESPACE}/{PROXY_SERVICE}"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        hostname = service.status.apply(nlb_hostname)
        for fqdn in hosts:
            record = relative_name(fqdn, args.dns_zone)
            do.DnsRecord(
                f"{name}-dns-{record}",
                domain=args.dns_zone,
                type="CNAME",
                name=record,
                # DigitalOcean wants a CNAME's target fully qualified, with the trailing dot.
                value=hostname.apply(lambda h: f"{h}."),
                ttl=args.dns_ttl,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.gateway = shared.ref
        self.ingress_controller = proxy_peer()
        self.edge_resources = [shared.release]
        self.load_balancer_hostname = hostname
        self.urls = {fqdn: f"https://{fqdn}" for fqdn in hosts}


def nlb_service() -> dict[str, Any]:
    """The proxies' Service as an Auto Mode NLB (module docstring)."""
    return {
        "type": "LoadBalancer",
        "name": PROXY_SERVICE,
        "loadBalancerClass": NLB_CLASS,
        "allocateLoadBalancerNodePorts": False,
        "annotations": {
            AWS_LB_ANNOTATION + "scheme": "internet-facing",
            AWS_LB_ANNOTATION + "nlb-target-type": "ip",
            AWS_LB_ANNOTATION + "proxy-protocol": "*",
        },
    }


def nlb_hostname(status: Any) -> str:
    """The NLB's DNS name from the Service's status; refused loudly if the Gateway was Programmed without one."""
    ingress = (getattr(getattr(status, "load_balancer", None), "ingress", None) or []) if status else []
    names = [i.hostname for i in ingress if getattr(i, "hostname", None)]
    if not names:
        raise ValueError(
            f"Service {GATEWAY_NAMESPACE}/{PROXY_SERVICE} has no load balancer hostname although its Gateway is "
            "Programmed: check that Auto Mode's load balancing is on (EksCluster) and the public subnets carry "
            "kubernetes.io/role/elb, then `kubectl -n envoy-gateway-system describe service edge-proxy`"
        )
    return str(names[0])


def eks_addons_problems(args: EksAddonsArgs) -> list[str]:
    """Everything wrong with the arguments, all at once (nothing is registered when any is)."""
    problems = []
    if args.acme_server not in ACME_SERVERS:
        problems.append(f"acme_server {args.acme_server!r}: use one of {sorted(ACME_SERVERS)}")
    outside = sorted(h for h in args.gateway_hosts if not h.endswith(f".{args.dns_zone}"))
    if outside:
        problems.append(f"hosts {outside} are not under the DNS zone {args.dns_zone}: use hosts of the stack's domain")
    if args.gateway_hosts and not args.gateway_tenants:
        problems.append("gateway_hosts given but no gateway_tenants: pass the aws tenants whose routes attach")
    if args.replicas < 1:
        problems.append(f"replicas {args.replicas}: run at least one Envoy proxy")
    if args.queue_arns and args.cluster_name is None:
        problems.append("queue_arns given without cluster_name: pass the EKS cluster KEDA's Pod Identity is for")
    return problems
