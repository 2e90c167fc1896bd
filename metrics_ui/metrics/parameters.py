"""The app's base metrics and what each allows, from Embrace's ``parameters`` endpoint: cached a few
minutes, and the built-in catalog when Embrace can't say."""

from __future__ import annotations

from django.core.cache import cache

from metrics_ui import catalog, upstream

# Parameters change rarely; without this every builder click would wait for Embrace.
PARAMETERS_CACHE_SECONDS = 300


def base_metrics(client: upstream.Client, app_id: str) -> tuple[dict[str, catalog.BaseMetric], bool]:
    """The app's base metrics from the ``parameters`` endpoint, or the built-in catalog when it fails.

    Returns ``(metrics, from_catalog)``; ``from_catalog`` is True when the fallback was used.
    """
    key = f"metrics_ui:parameters:{getattr(client, 'region', '')}:{app_id}"
    cached = cache.get(key)
    if cached:
        return cached, False
    try:
        metrics = dict(client.parameters(app_id))
    except upstream.UpstreamError:
        return dict(catalog.CATALOG), True
    if not metrics:
        return dict(catalog.CATALOG), True
    cache.set(key, metrics, PARAMETERS_CACHE_SECONDS)
    return metrics, False
