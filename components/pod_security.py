"""Pure helpers for pods that satisfy Pod Security Admission ``restricted`` (and checkov's Kubernetes checks).

Shared by every workload the platform runs in a tenant namespace (the ``Workload`` component, the
backup CronJob, ...): one definition of "secure by default", so a namespace labelled
``pod-security.kubernetes.io/enforce: restricted`` admits them all.

The container image must not need a writable root filesystem: ``/tmp`` is a writable ``emptyDir``
(``tmp_volume``/``tmp_volume_mount``), everything else is read-only.
"""

from __future__ import annotations

import pulumi_kubernetes as k8s

DEFAULT_UID = 10001
"""A UID above 10000, so it never collides with a user of the node (checkov CKV_K8S_40)."""

TMP_VOLUME_NAME = "tmp"
"""Name of the writable scratch volume mounted at ``/tmp``."""


def restricted_pod_security_context(uid: int = DEFAULT_UID) -> k8s.core.v1.PodSecurityContextArgs:
    """Pod-level context: non-root with a high UID/GID, ``RuntimeDefault`` seccomp, volumes owned by the GID."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def restricted_container_security_context(
    uid: int = DEFAULT_UID, *, read_only_root_filesystem: bool = True
) -> k8s.core.v1.SecurityContextArgs:
    """Container-level context: no privilege escalation, all capabilities dropped, read-only root filesystem.

    The UID is repeated here (the pod already sets it) because a container-level value wins, and
    scanners judge each container on its own. ``read_only_root_filesystem=False`` is an explicit
    opt-out for images that cannot run read-only.
    """
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=read_only_root_filesystem,
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def tmp_volume(size_limit: str = "256Mi") -> k8s.core.v1.VolumeArgs:
    """A writable ``emptyDir`` for ``/tmp``, capped so a runaway process cannot fill the node's disk."""
    return k8s.core.v1.VolumeArgs(
        name=TMP_VOLUME_NAME,
        empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=size_limit),
    )


def tmp_volume_mount(mount_path: str = "/tmp") -> k8s.core.v1.VolumeMountArgs:  # noqa: S108 - an emptyDir, not the host's /tmp
    """Mount of ``tmp_volume`` (at ``/tmp`` unless told otherwise)."""
    return k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME_NAME, mount_path=mount_path)
