"""OpenTelemetry tracing, imported only when ``DAIBAN_OTEL_ENDPOINT`` is set (``daiban[otel]``).

Spans go by OTLP over HTTP to the collector at the endpoint; each request is a span named
after its route, and the span's trace id joins the request's log lines.
"""

from __future__ import annotations

from typing import Any

from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def otel_plugin(endpoint: str) -> Any:
    provider = TracerProvider(resource=Resource.create({"service.name": "daiban-api"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")))
    trace.set_tracer_provider(provider)
    return OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider))
