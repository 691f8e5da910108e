"""The MISP feed's three files (SPEC section 10.3): thin views over `interop.misp`, which asks `access`.

A personal token only (`Authorization: Token ...`, a custom header of the MISP feed): no session, no node
token. A feed is a directory of static files to MISP, not a negotiated API: whatever `Accept` says, the
answer is the file (JSON, or CSV for `hashes.csv`).
"""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ports.auth import TokenAuthentication
from ports.permissions import IsMember

from . import misp


@extend_schema(exclude=True)  # the MISP feed format, not the REST API: docs/interop.md describes it
class MispFeedView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsMember]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


class MispManifestView(MispFeedView):
    def get(self, request):
        return StreamingHttpResponse(misp.manifest_chunks(request.user), content_type="application/json")


class MispHashesView(MispFeedView):
    def get(self, request):
        return StreamingHttpResponse(misp.hashes_lines(request.user), content_type="text/csv; charset=utf-8")


class MispEventView(MispFeedView):
    def get(self, request, event_uuid):
        return Response(misp.event_for(request.user, event_uuid))
