"""The market rates, as customers see them (public)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from rates.selectors import CurrentRate, rate_current, rates_current, snapshot_sources
from swaps.liquidity import liquidity_public
from swaps.quotes import CURRENCIES


def _sources(sources: dict) -> list[dict]:
    return [
        {"provider": name, "value": info.get("value"), "used": info.get("used", False)}
        for name, info in sorted(sources.items())
    ]


def _rate(current: CurrentRate, snapshots: dict[int, dict]) -> dict:
    return {
        "pair": current.pair,
        "rate": str(current.rate),
        "fetched_at": current.fetched_at,
        "age_seconds": round(current.age_seconds, 1),
        "sources": _sources(snapshots.get(current.snapshot_id, {})),
    }


class RatesApi(APIView):
    """The current aggregated XMR/BTC rate, its sources and age, and every other pair's
    (``pairs``); with ``?pair=BTC/USD`` one pair alone, 503 when it has no fresh rate
    (public)."""

    permission_classes = [permissions.AllowAny]

    class PairSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RatePair"

        pair = serializers.CharField()
        rate = serializers.CharField(allow_null=True, help_text="price of 1 BASE in QUOTE")
        fetched_at = serializers.DateTimeField(allow_null=True)
        age_seconds = serializers.FloatField(allow_null=True)
        sources = serializers.ListField(child=serializers.DictField())
        error = serializers.CharField(
            required=False, help_text="why the pair has no fresh rate (rate is null)"
        )

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
        pairs = serializers.DictField(
            help_text="every pair the engine refreshes (BASE/QUOTE): its rate, or rate null"
            " and the error"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "pair", str, description="one pair alone, e.g. BTC/USD (either way round)"
            )
        ],
        responses=OutputSerializer,
    )
    def get(self, request):
        if "pair" in request.query_params:
            current = rate_current(request.query_params["pair"])
            return Response(_rate(current, snapshot_sources(current)))
        market = rate_current()
        others = rates_current()
        snapshots = snapshot_sources(
            market, *(c for c in others.values() if isinstance(c, CurrentRate))
        )
        pairs = {}
        for pair, answer in others.items():
            if isinstance(answer, CurrentRate):
                pairs[pair] = _rate(answer, snapshots)
            else:
                pairs[pair] = {
                    "pair": pair,
                    "rate": None,
                    "fetched_at": None,
                    "age_seconds": None,
                    "sources": [],
                    "error": answer.message,
                }
        return Response(
            {
                **_rate(market, snapshots),
                "spread_bps": settings.SWAP_SPREAD_BPS,
                "available": {c: str(liquidity_public(currency=c)) for c in CURRENCIES},
                "pairs": pairs,
            }
        )
