from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"

    def ready(self) -> None:
        from staff.roles import roles_sync

        post_migrate.connect(roles_sync, dispatch_uid="staff.roles_sync")
