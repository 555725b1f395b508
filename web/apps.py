from django.apps import AppConfig


class WebConfig(AppConfig):
    """The customer-facing web pages: the swap page, checkout pages and order pages."""

    name = "web"
    verbose_name = "Web pages"
