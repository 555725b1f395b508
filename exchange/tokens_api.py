"""API tokens of the caller: list, create (the secret is in the 201 answer only), revoke.

Creating one takes a session or a write-scope token (a read-scope token writes nothing,
exchange/auth.py). No Idempotency-Key here: a replayed answer would have to keep the
secret at rest.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.models import ApiToken, ApiTokenScope
from exchange.services import api_token_create, api_token_revoke


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=ApiTokenScope.choices)
    prefix = serializers.CharField(help_text="the secret's first characters, to recognise it")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="Authorization: Token <token>; shown only now")


class TokenListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenCreate"

        name = serializers.CharField(max_length=100)
        scope = serializers.ChoiceField(choices=ApiTokenScope.choices)
        days = serializers.IntegerField(
            min_value=1,
            max_value=settings.API_TOKEN_MAX_DAYS,
            required=False,
            help_text=f"lifetime; default {settings.API_TOKEN_TTL_DAYS}",
        )

    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request):
        tokens = ApiToken.objects.filter(user=request.user).order_by("-created", "-id")
        return Response(TokenSerializer(tokens, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: TokenCreatedSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, secret = api_token_create(user=request.user, **serializer.validated_data)
        body = {**TokenSerializer(token).data, "token": secret}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class TokenDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, token_id: int):
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
