from django.urls import path

from webhooks import api

urlpatterns = [
    path("webhooks", api.WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<int:endpoint_id>", api.WebhookDetailApi.as_view(), name="webhook"),
]
