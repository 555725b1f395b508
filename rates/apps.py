from django.apps import AppConfig


class RatesConfig(AppConfig):
    name = "rates"
    verbose_name = "Rates and quotes"

    def ready(self) -> None:
        from rates import checks, receivers  # noqa: F401 - registers the check and receivers
