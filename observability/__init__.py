"""Pure renderers of the monitoring server's files (cloud-init, Prometheus, Alertmanager, Grafana).

No Pulumi and no network here: every function takes plain values and returns text, so the output
can be golden-tested and checked by promtool, amtool and ``cloud-init schema``.
"""
