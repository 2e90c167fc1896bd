"""The sandbox's stand-in for Embrace's Metrics API: a subset of the Prometheus HTTP API under
``/metrics/api/v1/``, answering PromQL over deterministic synthetic series of the sandbox's custom
metrics."""
