"""The /metrics endpoint: request latency, queue depths, task outcomes, node heights and
reachability, pool sizes, reconciliation drift, webhook failures (Prometheus text)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from exchange.metrics import LATENCY_BUCKETS_MS, labels_of, metric_read
from exchange.permissions import is_operator
from exchange.redis import get_redis
from wallets.models import Chain


def _counter(name: str, doc: str, series: str, labels: list[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for field, value in metric_read(series).items():
        values = labels_of(field)
        family.add_metric([values.get(label, "") for label in labels], value)
    return family


def _latency() -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "exchange_http_request_duration_seconds",
        "API and page latency",
        labels=["method", "route", "status"],
    )
    counts = metric_read("http_request:count")
    sums = metric_read("http_request:sum_us")
    buckets = {b: metric_read(f"http_request:bucket:{b}") for b in (*LATENCY_BUCKETS_MS, "+Inf")}
    for field, count in counts.items():
        labels = labels_of(field)
        cumulative, points = 0, []
        for bound in LATENCY_BUCKETS_MS:
            cumulative += buckets[bound].get(field, 0)
            points.append((str(bound / 1000), cumulative))
        points.append(("+Inf", count))
        family.add_metric(
            [labels["method"], labels["route"], labels["status"]],
            points,
            sums.get(field, 0) / 1_000_000,
        )
    return family


class EngineCollector:
    def collect(self):
        from django.db.models import Count

        from exchange.health import health_report
        from operations.models import ReconcileRun
        from wallets.selectors import pool_status
        from wallets.services.pool_target import pool_target
        from webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery

        yield _latency()
        yield _counter(
            "exchange_task_outcomes_total",
            "Celery task outcomes",
            "task_outcomes",
            ["task", "outcome"],
        )
        yield _counter(
            "exchange_node_calls_total", "Calls made to a node", "node_calls", ["chain", "method"]
        )

        depth = GaugeMetricFamily(
            "exchange_queue_depth", "Messages waiting per queue", labels=["queue"]
        )
        r = get_redis()
        for queue in settings.CELERY_QUEUES:
            try:
                depth.add_metric([queue], r.llen(queue))
            except redis.RedisError:
                break
        yield depth

        report = health_report()["components"]
        up = GaugeMetricFamily(
            "exchange_node_up", "Node reachable (1) or not (0)", labels=["chain"]
        )
        height = GaugeMetricFamily("exchange_node_height", "Chain height", labels=["chain"])
        for chain in Chain.values:
            up.add_metric([chain], 1 if report[chain]["ok"] else 0)
            if "height" in report[chain]:
                height.add_metric([chain], report[chain]["height"])
        yield up
        yield height
        alive = GaugeMetricFamily(
            "exchange_component_up", "Health of each component", labels=["component"]
        )
        for name, component in report.items():
            alive.add_metric([name], 1 if component["ok"] else 0)
        yield alive

        pools = GaugeMetricFamily(
            "exchange_accounts", "Deposit accounts per state", labels=["chain", "state"]
        )
        for chain, states in pool_status().items():
            for state, n in states.items():
                pools.add_metric([chain, state], n)
        yield pools
        target = GaugeMetricFamily(
            "exchange_pool_target",
            "Pooled accounts the refill keeps (follows demand)",
            labels=["chain"],
        )
        for chain in Chain.values:
            target.add_metric([chain], pool_target(chain=chain))
        yield target

        drift = GaugeMetricFamily(
            "exchange_reconcile_drift",
            "Base units drifting at the last reconcile",
            labels=["chain"],
        )
        drifting = GaugeMetricFamily(
            "exchange_reconcile_drift_accounts", "Accounts drifting", labels=["chain"]
        )
        for chain in Chain.values:
            run = ReconcileRun.objects.filter(chain=chain).order_by("-finished_at").first()
            if run:
                drift.add_metric([chain], run.drift_total)
                drifting.add_metric([chain], run.drift_accounts)
        yield drift
        yield drifting

        failures = CounterMetricFamily(
            "exchange_webhook_failed_attempts", "Webhook attempts that did not get a 2xx", labels=[]
        )
        failures.add_metric(
            [], WebhookAttempt.objects.exclude(status_code__gte=200, status_code__lt=300).count()
        )
        yield failures
        deliveries = GaugeMetricFamily(
            "exchange_webhook_deliveries", "Webhook deliveries per state", labels=["state"]
        )
        counts = dict(WebhookDelivery.objects.values_list("state").annotate(n=Count("id")))
        for state in DeliveryState.values:
            deliveries.add_metric([state], counts.get(state, 0))
        yield deliveries


def metrics_view(request):
    if not is_operator(request):
        return HttpResponse(
            "metrics: staff or Authorization: Bearer $METRICS_TOKEN\n",
            status=401,
            content_type="text/plain",
        )
    registry = CollectorRegistry()
    registry.register(EngineCollector())
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4")
