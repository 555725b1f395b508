from django.contrib import admin

from operations.models import ReconcileRun


@admin.register(ReconcileRun)
class ReconcileRunAdmin(admin.ModelAdmin):
    list_display = (
        "chain",
        "finished_at",
        "accounts",
        "drift_accounts",
        "drift_total",
        "node_calls",
    )
    list_filter = ("chain",)
    readonly_fields = [f.name for f in ReconcileRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
