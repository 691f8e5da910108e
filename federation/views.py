"""The instance document (public), the operator's peers page and its API (SPEC 10.1, 10.2)."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ports.decorators import verified_operator_required
from ports.instance import instance_id, instance_url, signed_instance_document
from ports.models import SigningKey
from ports.permissions import IsVerifiedOperator
from ports.services import portal_key_ensure

from . import selectors
from .serializers import PeersSerializer


class InstanceDocumentView(APIView):
    """`GET /.well-known/alliance-instance.json`: public, a JWS (typ `instance+json`) by the portal key.

    `?signed_by=KID` gives the same document signed by a retired portal key: how a new key is announced under
    the previous one to peers that pinned it.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def get(self, request):
        key = portal_key_ensure()
        signed_by = request.query_params.get("signed_by") or None
        try:
            jws = signed_instance_document(key, signed_by=signed_by)
        except SigningKey.DoesNotExist:
            raise Http404("No retired portal key with this kid.")
        response = HttpResponse(jws, content_type="application/jose")
        response["Cache-Control"] = "no-store"
        return response


class PeersApiView(APIView):
    """`GET /api/v1/federation/peers/`: per peer, cursor, lag, last success and error, counts by reason code."""

    permission_classes = [IsVerifiedOperator]

    @extend_schema(responses=PeersSerializer)
    def get(self, request):
        peers = [f.as_dict() for f in selectors.peer_figures()]
        return Response({"instance": instance_id(), "url": instance_url(), "peers": peers})


@verified_operator_required
def peers_page(request):
    return render(
        request,
        "federation/peers.html",
        {"peers": selectors.peer_figures(), "instance": instance_id(), "instance_url": instance_url()},
    )
