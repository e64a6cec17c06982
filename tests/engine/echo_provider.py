"""An echo resource provider for the real Pulumi engine: `pulumi-resource-<package>` without a cloud.

The CLI starts it like any provider plugin (tests/engine/bin/ puts it on PATH as an ambient plugin
for each of digitalocean, kubernetes, aws, random and tls) and talks the gRPC ResourceProvider protocol
of the Python SDK to it. It implements that protocol faithfully and the cloud not at all:

* Check returns the inputs; CheckConfig likewise.
* Diff and DiffConfig compare the old *inputs* with the new ones, key by key; a key whose new value
  is unknown counts as changed. Keys in ``REPLACE_ON`` (what the real providers mark ForceNew) are
  reported as replacements, so the engine plans replace steps and their ordering for real.
* Create and Update return the inputs plus realistic computed outputs (tests/harness.py
  ``outputs_for``, shared with the in-process mocks); sensitive outputs come back as secrets, as
  bridged providers return them. A preview Create returns only the inputs: computed outputs are
  unknown, as on a first real preview.
* Read returns the state it is given (so refresh finds no drift); a lookup (``Resource.get``, no
  state, only an id) returns the outputs the mocks give a read (tests/harness.py ``outputs_for`` with
  no inputs). Delete succeeds.
* Invoke answers the data sources the program calls (tests/harness.py ``INVOKES``).

Every call is appended, one JSON line each, to ``$ECHO_PROVIDER_LOG`` when that is set, so a test
can see what the engine asked for (for example which steps a replacement took).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.harness import INVOKES, fake_resource_id, outputs_for  # noqa: E402

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

REPLACE_ON: dict[str, frozenset[str]] = {
    # terraform-provider-digitalocean ForceNew attributes the program can change.
    "digitalocean:index/droplet:Droplet": frozenset({"image", "region", "userData", "vpcUuid", "sshKeys"}),
    "digitalocean:index/volume:Volume": frozenset({"region", "filesystemType", "snapshotId"}),
    "digitalocean:index/volumeAttachment:VolumeAttachment": frozenset({"dropletId", "volumeId"}),
    "digitalocean:index/vpc:Vpc": frozenset({"region", "ipRange"}),
    "digitalocean:index/kubernetesCluster:KubernetesCluster": frozenset(
        {"region", "vpcUuid", "clusterSubnet", "serviceSubnet"}
    ),
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": frozenset({"clusterId", "size"}),
    "digitalocean:index/databaseCluster:DatabaseCluster": frozenset(
        {"name", "engine", "privateNetworkUuid", "projectId"}
    ),
    "digitalocean:index/databaseDb:DatabaseDb": frozenset({"clusterId", "name"}),
    "digitalocean:index/databaseUser:DatabaseUser": frozenset({"clusterId", "name"}),
    "aws:s3/bucket:Bucket": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
    "aws:s3/bucketV2:BucketV2": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
}

ID_IS_OUTPUT: dict[str, str] = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:iam/role:Role": "name",
    "digitalocean:index/reservedIp:ReservedIp": "ipAddress",
}
"""Types whose provider id is the value of one of their outputs."""

SENSITIVE = frozenset(
    {
        "password",
        "uri",
        "privateUri",
        "kubeConfigs",
        "secret",
        "token",
        "sesSmtpPasswordV4",
        # pulumi-random and pulumi-tls
        "result",
        "bcryptHash",
        "privateKeyPem",
        "privateKeyPemPkcs8",
        "privateKeyOpenssh",
    }
)
"""Outputs the real providers return as secrets."""


def _log(method: str, **fields: Any) -> None:
    path = os.environ.get("ECHO_PROVIDER_LOG")
    if not path:
        return
    line = json.dumps({"package": PACKAGE, "method": method, **fields}, default=str)
    with _LOG_LOCK, open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


_LOG_LOCK = threading.Lock()
PACKAGE = "unknown"


def to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def plain(value: Any) -> Any:
    """The value with secret wrappers removed (unknowns stay the sentinel)."""
    if isinstance(value, dict):
        if value.get(SIG) == SECRET_SIG:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def secret(value: Any) -> dict[str, Any]:
    return {SIG: SECRET_SIG, "value": value}


def changed_keys(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    keys = sorted(set(olds) | set(news))
    return [k for k in keys if has_unknown(news.get(k)) or plain(olds.get(k)) != plain(news.get(k))]


def computed(type_token: str, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    outputs = outputs_for(type_token, name, plain(inputs), rid)
    return {k: secret(v) if k in SENSITIVE else v for k, v in outputs.items()}


def autonamed_kubernetes_object(type_token: str, inputs: dict[str, Any]) -> bool:
    if not type_token.startswith("kubernetes:") or type_token.startswith("kubernetes:helm.sh/"):
        return False
    metadata = inputs.get("metadata")
    return not (isinstance(metadata, dict) and metadata.get("name"))


def creation_id(type_token: str, name: str, inputs: dict[str, Any]) -> str:
    """A new id for every distinct creation, as a cloud assigns one: a replacement (same name, new
    inputs) must not get the id of the resource it replaces, or the engine's steps cannot be told apart."""
    base = fake_resource_id(type_token, name)
    digest = hashlib.sha256(json.dumps(plain(inputs), sort_keys=True, default=str).encode()).hexdigest()
    if base.isdigit():  # DigitalOcean droplet ids are integers
        return str(int(digest[:7], 16))
    return f"{base}-{digest[:6]}"


def lookup_identity(type_token: str, rid: str) -> dict[str, Any]:
    """What identifies a looked-up object in its outputs: a Kubernetes object's id is
    ``<namespace>/<name>`` (or ``<name>`` when cluster-scoped), and the live object carries both."""
    if not type_token.startswith("kubernetes:"):
        return {}
    namespace, _, name = rid.rpartition("/")
    return {"metadata": {"name": name, **({"namespace": namespace} if namespace else {})}}


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class EchoProvider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, package: str, version: str) -> None:
        self.package = package
        self.version = version

    # --- plugin and provider configuration -------------------------------------------------------

    def Handshake(self, request: Any, context: Any) -> Any:
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True, accept_resources=True, accept_outputs=True)

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=self.version)

    def GetSchema(self, request: Any, context: Any) -> Any:
        return provider_pb2.GetSchemaResponse(schema=json.dumps({"name": self.package, "version": self.version}))

    def CheckConfig(self, request: Any, context: Any) -> Any:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> Any:
        olds = to_dict(request.old_inputs) or to_dict(request.olds)
        news = to_dict(request.news)
        diffs = [k for k in changed_keys(olds, news) if k != "version"]
        _log("DiffConfig", urn=request.urn, diffs=diffs)
        changes = provider_pb2.DiffResponse.DIFF_SOME if diffs else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=changes, diffs=diffs)

    def Configure(self, request: Any, context: Any) -> Any:
        _log("Configure", variables=sorted(request.variables), args=sorted(to_dict(request.args)))
        return provider_pb2.ConfigureResponse(
            acceptSecrets=True, supportsPreview=True, acceptResources=True, acceptOutputs=True
        )

    # --- resources --------------------------------------------------------------------------------

    def Check(self, request: Any, context: Any) -> Any:
        news = to_dict(request.news)
        if autonamed_kubernetes_object(request.type, news):
            # pulumi-kubernetes names an object without metadata.name in Check ("<resource name>-<8
            # random characters>", kept from the old state once it exists), so the name is known even in
            # a first preview. Policies and dependent objects rely on that.
            old_name = to_dict(request.olds).get("metadata", {}).get("name")
            suffix = hashlib.sha256(request.urn.encode()).hexdigest()[:8]
            news["metadata"] = {**news.get("metadata", {}), "name": old_name or f"{_name(request.urn)}-{suffix}"}
            return provider_pb2.CheckResponse(inputs=to_struct(news))
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request: Any, context: Any) -> Any:
        olds = to_dict(request.old_inputs)
        news = to_dict(request.news)
        diffs = changed_keys(olds, news)
        replaces = [k for k in diffs if k in REPLACE_ON.get(request.type, frozenset())]
        _log("Diff", urn=request.urn, diffs=diffs, replaces=replaces)
        changes = provider_pb2.DiffResponse.DIFF_SOME if diffs else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=changes, diffs=diffs, replaces=replaces)

    def Create(self, request: Any, context: Any) -> Any:
        inputs = to_dict(request.properties)
        _log("Create", urn=request.urn, preview=request.preview)
        if request.preview:
            return provider_pb2.CreateResponse(id="", properties=request.properties)
        rid = creation_id(request.type, _name(request.urn), inputs)
        outputs = computed(request.type, _name(request.urn), inputs, rid)
        if request.type in ID_IS_OUTPUT:
            # The cloud's id is one of the outputs (an S3 bucket's id is its name): side resources
            # that take `bucket=bucket.id` must find the same value the bucket reports.
            rid = str(plain(outputs[ID_IS_OUTPUT[request.type]]))
        return provider_pb2.CreateResponse(id=rid, properties=to_struct({**inputs, **outputs}))

    def Read(self, request: Any, context: Any) -> Any:
        state = to_dict(request.properties)
        _log("Read", urn=request.urn, lookup=not state)
        if state:
            # A refresh: what is in state is what the echo "cloud" has, so nothing drifts.
            return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)
        if not request.id:
            # No id: the engine reports the resource as not found, as it does for a real provider.
            return provider_pb2.ReadResponse()
        # A lookup (`Resource.get(name, id)`): the engine knows only the id, so the provider answers
        # with the live object's outputs. Those are the outputs the in-process mocks give a read (no
        # inputs: e.g. the Envoy proxies' Service with its NLB hostname), derived from the name, so
        # every run reads the same object and nothing that depends on it churns. No inputs come
        # back: the program declared none, and the engine diffs nothing for a read resource.
        outputs = {
            **lookup_identity(request.type, request.id),
            **computed(request.type, _name(request.urn), {}, request.id),
        }
        return provider_pb2.ReadResponse(id=request.id, properties=to_struct(outputs))

    def Update(self, request: Any, context: Any) -> Any:
        news = to_dict(request.news)
        _log("Update", urn=request.urn, preview=request.preview)
        if request.preview:
            return provider_pb2.UpdateResponse(properties=request.news)
        olds = to_dict(request.olds)
        outputs = computed(request.type, _name(request.urn), news, request.id)
        # Computed outputs the provider assigned at creation keep their values (ids, passwords).
        kept = {k: olds[k] for k in outputs if k in olds}
        return provider_pb2.UpdateResponse(properties=to_struct({**news, **outputs, **kept}))

    def Delete(self, request: Any, context: Any) -> Any:
        _log("Delete", urn=request.urn)
        return empty_pb2.Empty()

    # --- data sources -----------------------------------------------------------------------------

    def Invoke(self, request: Any, context: Any) -> Any:
        handler = INVOKES.get(request.tok)
        _log("Invoke", token=request.tok)
        if handler is None:
            return provider_pb2.InvokeResponse(
                failures=[provider_pb2.CheckFailure(property="", reason=f"echo provider: no answer for {request.tok}")]
            )
        return provider_pb2.InvokeResponse(**{"return": to_struct(handler(plain(to_dict(request.args))))})

    def Cancel(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def GetMapping(self, request: Any, context: Any) -> Any:
        return provider_pb2.GetMappingResponse(provider="", data=b"")

    def GetMappings(self, request: Any, context: Any) -> Any:
        return provider_pb2.GetMappingsResponse(providers=[])


def plugin_version(package: str) -> str:
    """The version of the installed SDK package, so the engine sees the version the program asks for."""
    spec = importlib.util.find_spec(f"pulumi_{package}")
    if spec and spec.origin:
        meta = Path(spec.origin).parent / "pulumi-plugin.json"
        if meta.exists():
            return str(json.loads(meta.read_text()).get("version", "0.0.0"))
    return "0.0.0"


def main() -> None:
    global PACKAGE  # noqa: PLW0603 - set once, before serving
    # The wrapper on PATH (tests/engine/bin/pulumi-resource-<package>) names the package; the engine's
    # own arguments (its address) are not needed by an echo.
    PACKAGE = os.environ["ECHO_PROVIDER_PACKAGE"]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(EchoProvider(PACKAGE, plugin_version(PACKAGE)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # The engine reads the port from the first line of stdout.
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
