from django.apps import AppConfig


class SwapsConfig(AppConfig):
    name = "swaps"
    verbose_name = "Swaps"

    def ready(self) -> None:
        from swaps import receivers  # noqa: F401 - connects the signal receivers
