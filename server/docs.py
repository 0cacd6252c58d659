"""The API docs page (``/schema``) with everything it loads served by the app itself.

Government intranets have no internet: Swagger UI's script, style and icon come from the
``swagger-ui-py`` package's static files, served under ``/schema/assets``, never from a CDN.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

from server.openapi import completed

ASSETS = "/schema/assets"


def assets_dir() -> Path:
    # The package's files only; its Python code (for other frameworks) is never imported.
    return Path(str(files("swagger_ui") / "static"))


class CompleteSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI over the completed document (see :mod:`server.openapi`)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, completed(openapi_schema))


def docs_plugin() -> SwaggerRenderPlugin:
    return CompleteSwaggerPlugin(
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
        path="/swagger",
    )


def docs_assets() -> Router:
    """The package's static files, cached a day by browsers (they change with the package)."""
    return create_static_files_router(
        path=ASSETS,
        directories=[assets_dir()],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=86400, public=True),
        name="docs-assets",
    )
