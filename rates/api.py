"""The market rate, as customers see it (public)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from rates.models import RateSnapshot
from rates.selectors import rate_current
from swaps.liquidity import liquidity_public
from swaps.quotes import CURRENCIES


class RatesApi(APIView):
    """The current aggregated XMR/BTC rate, its sources and age (public)."""

    permission_classes = [permissions.AllowAny]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Rates"

        pair = serializers.CharField()
        rate = serializers.CharField()
        fetched_at = serializers.DateTimeField()
        age_seconds = serializers.FloatField()
        sources = serializers.ListField(child=serializers.DictField())
        spread_bps = serializers.DictField(child=serializers.IntegerField())
        available = serializers.DictField(
            child=serializers.CharField(),
            help_text="the largest payout one swap may take now per currency, base units,"
            " rounded down to two significant digits",
        )

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        current = rate_current()
        snapshot = RateSnapshot.objects.filter(id=current.snapshot_id).first()
        sources = [
            {"provider": name, "value": info.get("value"), "used": info.get("used", False)}
            for name, info in sorted((snapshot.sources if snapshot else {}).items())
        ]
        return Response(
            {
                "pair": "XMR/BTC",
                "rate": str(current.rate),
                "fetched_at": current.fetched_at,
                "age_seconds": round(current.age_seconds, 1),
                "sources": sources,
                "spread_bps": settings.SWAP_SPREAD_BPS,
                "available": {c: str(liquidity_public(currency=c)) for c in CURRENCIES},
            }
        )
