from django.apps import AppConfig


class RatesConfig(AppConfig):
    name = "rates"
    verbose_name = "Rates"

    def ready(self) -> None:
        from rates import checks  # noqa: F401 - registers the check
