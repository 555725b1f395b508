"""Chain endpoints: node status (staff) and offline address validation (public)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wallets.addresses import validate_address
from wallets.chains import coin_of_chain
from wallets.models import MasterWallet
from wallets.selectors import node_status, pool_status
from wallets.services.pool_target import pool_plan


class ChainStatusApi(APIView):
    """Height, node reachability and the account pool of one chain: its counts, target and
    refill rate (staff only)."""

    permission_classes = [permissions.IsAdminUser]
    chain: str = ""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ChainStatus"

        chain = serializers.CharField()
        network = serializers.CharField()
        reachable = serializers.BooleanField()
        height = serializers.IntegerField(allow_null=True)
        error = serializers.CharField(allow_null=True)
        pool = serializers.DictField(child=serializers.IntegerField())
        pool_min = serializers.IntegerField()
        pool_plan = serializers.DictField(child=serializers.IntegerField(allow_null=True))
        master_wallets = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        node = node_status(chain=self.chain, timeout=settings.HEALTH_NODE_TIMEOUT)
        wallets = MasterWallet.objects.filter(chain=self.chain).order_by("id")
        data = {
            "chain": self.chain,
            "network": coin_of_chain(self.chain).network,
            "reachable": node["reachable"],
            "height": node.get("height"),
            "error": node.get("error"),
            "pool": pool_status()[self.chain],
            "pool_min": settings.POOL_MIN,
            "pool_plan": pool_plan(chain=self.chain),
            "master_wallets": [
                {
                    "id": w.id,
                    "name": w.name,
                    "capacity": w.capacity,
                    "is_active": w.is_active,
                    "scanned_height": w.scanned_height,
                }
                for w in wallets
            ],
        }
        return Response(self.OutputSerializer(data).data)


class ValidateAddressApi(APIView):
    """Is this address payable on the configured network? Offline, no node call. Public."""

    permission_classes = [permissions.AllowAny]
    chain: str = ""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AddressInput"

        address = serializers.CharField(max_length=256, trim_whitespace=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AddressCheck"

        valid = serializers.BooleanField()
        network = serializers.CharField(allow_null=True)
        type = serializers.CharField(allow_null=True)
        error = serializers.CharField(allow_null=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check = validate_address(chain=self.chain, address=serializer.validated_data["address"])
        return Response(self.OutputSerializer(check.as_dict()).data)
