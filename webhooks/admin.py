from django.contrib import admin, messages

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import delivery_redeliver, endpoint_create


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "url", "owner", "store", "events", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("url", "owner__username")
    fields = ("owner", "url", "events", "description", "is_active")

    def get_readonly_fields(self, request, obj=None):
        # Where an endpoint posts, and whose events it gets, are set once, checked at
        # creation (endpoint_create); a change is a new endpoint.
        return ("owner", "url") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = endpoint_create(
            owner=obj.owner, url=obj.url, events=obj.events or [], description=obj.description
        )
        obj.pk = created.pk
        messages.warning(
            request,
            f"Secret of endpoint {created.id} (shown once; the receiver needs it): {created.secret}",
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "status_code", "latency_ms", "error", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event",
        "endpoint",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state",)
    search_fields = ("event__event_id", "endpoint__url")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Deliver again", permissions=["change"])
    def redeliver(self, request, queryset):
        for delivery in queryset:
            delivery_redeliver(delivery_id=delivery.id, actor=request.user)
        self.message_user(request, f"{queryset.count()} deliveries queued again", messages.SUCCESS)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("=event_id",)
    readonly_fields = ("event_id", "type", "data", "parties", "created_at")

    def has_add_permission(self, request):
        return False
