"""Live droplet (and DOKS node) prices from ``digitalocean.get_sizes()``, when a DIGITALOCEAN_TOKEN is set.

``get_sizes`` is a Pulumi invoke, so it needs an engine: this runs a throw-away inline program through the
Automation API on a local file backend in a temporary directory (nothing is created; the program only
invokes and exports). It needs the ``pulumi`` CLI and downloads the digitalocean provider plugin on first
use. Run as ``python -m costing.live``, in its own process: ``make cost`` evaluates the stack under
mocks, which are process-global, and the invoke must reach the real provider. Prints
``{"do.droplet.<slug>": price_monthly, ...}`` as JSON. Never used by tests (they have no network).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def fetch() -> dict[str, float]:
    """Price keys of the table (``do.droplet.<slug>``) mapped to today's monthly prices."""
    import pulumi  # noqa: PLC0415 - heavy imports only when a token asks for live prices
    import pulumi_digitalocean as do  # noqa: PLC0415
    from pulumi import automation as auto  # noqa: PLC0415
    from pulumi_digitalocean import _utilities  # noqa: PLC0415

    def program() -> None:
        sizes = do.get_sizes()
        pulumi.export("prices", {f"do.droplet.{s.slug}": s.price_monthly for s in sizes.sizes})

    with tempfile.TemporaryDirectory(prefix="platform-prices-") as state:
        backend = f"file://{state}"
        stack = auto.create_or_select_stack(
            stack_name="prices",
            project_name="platform-prices",
            program=program,
            opts=auto.LocalWorkspaceOptions(
                project_settings=auto.ProjectSettings(
                    name="platform-prices", runtime="python", backend=auto.ProjectBackend(url=backend)
                ),
                env_vars={"PULUMI_BACKEND_URL": backend, "PULUMI_CONFIG_PASSPHRASE": ""},
            ),
        )
        # The plugin matching the installed SDK, as `pulumi up` of the real program would use.
        stack.workspace.install_plugin("digitalocean", f"v{_utilities.get_version()}")
        result = stack.up(on_output=lambda _line: None)
        return {k: float(v) for k, v in result.outputs["prices"].value.items()}


def main() -> int:
    if not os.environ.get("DIGITALOCEAN_TOKEN"):
        print("costing.live: DIGITALOCEAN_TOKEN is not set", file=sys.stderr)
        return 2
    print(json.dumps(fetch(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
