from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "funding"
    verbose_name = "Funded orders"

    def ready(self) -> None:
        from funding import receivers  # noqa: F401 - connects the signal receivers
