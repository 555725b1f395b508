from django.contrib import admin, messages

from exchange.models import ApiToken, Heartbeat
from exchange.services import api_token_revoke_by_staff


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seen", "hostname")
    readonly_fields = ("name", "last_seen", "hostname")

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see who holds which token and revoke them; the secret is never here (only a
    digest is stored, and the digest is not shown either)."""

    list_display = ("id", "user", "name", "scope", "prefix", "created", "expiry")
    list_filter = ("scope",)
    search_fields = ("user__username", "name", "token_key")
    fields = ("user", "name", "scope", "prefix", "created", "expiry")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        api_token_revoke_by_staff(actor=request.user, token=obj, reason="revoked in the admin")

    @admin.action(description="Revoke the selected tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        tokens = list(queryset)
        for token in tokens:
            api_token_revoke_by_staff(
                actor=request.user, token=token, reason="revoked in the admin"
            )
        messages.success(request, f"{len(tokens)} token(s) revoked.")
