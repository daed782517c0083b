"""The API's documentation pages (``/docs``): one per endpoint of the registry, English and
Chinese, with samples CI runs. See docs/docs-pages.md."""

from pgy_metrics.server.docs_pages.routes import router

__all__ = ["router"]
