"""Integrators register their endpoints. The secret is shown once, in the 201 answer."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.idempotency import idempotent
from webhooks.models import EVENT_TYPES, EndpointKind, WebhookEndpoint
from webhooks.services import endpoint_create


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="HMAC-SHA256 key; shown only now")


class WebhookListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WebhookCreate"

        url = serializers.URLField(max_length=500)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, default=list
        )
        description = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )

    @extend_schema(responses=EndpointSerializer(many=True))
    def get(self, request):
        endpoints = WebhookEndpoint.objects.filter(
            owner=request.user, kind=EndpointKind.ENGINE
        ).order_by("id")
        return Response(EndpointSerializer(endpoints, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: EndpointCreatedSerializer})
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoint_create(owner=request.user, **serializer.validated_data)
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(responses=EndpointSerializer)
    def get(self, request, endpoint_id: int):
        endpoint = get_object_or_404(
            WebhookEndpoint, id=endpoint_id, owner=request.user, kind=EndpointKind.ENGINE
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request, endpoint_id: int):
        get_object_or_404(
            WebhookEndpoint, id=endpoint_id, owner=request.user, kind=EndpointKind.ENGINE
        ).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
