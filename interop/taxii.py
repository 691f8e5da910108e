"""TAXII 2.1 endpoints (SPEC section 10.3): thin views over `interop.selectors`; `access` decides what is read.

Read-only; media type `application/taxii+json;version=2.1` exactly (406 for any other `Accept`); errors as
TAXII error messages (title, description, http_status).
"""

import json
from typing import Any

from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

import access
from ports.permissions import IsMember, IsPeer

from . import selectors, stix
from .auth import TaxiiTokenAuthentication

TAXII = "application/taxii+json;version=2.1"
API_ROOT = "/taxii2/alliance/"
# Fixed collection ids: clients and OpenCTI connectors are configured with them.
COLLECTIONS = {
    access.ALERTS: ("0c9c6a57-3b8e-4f3e-9f0a-2d4c1b7e8a11", "Alerts and best practices (STIX reports)"),
    access.SCANS: ("5e2f7d90-8a4b-4c6e-b1d3-7f9e0a2c4b62", "Scans and inspection outcomes (public sector)"),
    access.FEDERATION: ("a3d1c8e4-6b2f-4e9a-8c7d-1f0e3b5a9d23", "Everything offered to a peer instance"),
}
STATIC_OBJECTS = {stix.EXTENSION_ID: stix.extension_definition, stix.identity_id("portal"): stix.portal_identity}


def _respond(body: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=TAXII)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(status: int, title: str, description: str = "") -> HttpResponse:
    return _respond({"title": title, "description": description, "http_status": str(status)}, status)


def _date_headers(page: selectors.Page) -> dict:
    if not page.entries:
        return {}
    return {
        "X-TAXII-Date-Added-First": selectors.taxii_time(page.first_added),
        "X-TAXII-Date-Added-Last": selectors.taxii_time(page.last_added),
    }


class TaxiiView(APIView):
    authentication_classes = [TaxiiTokenAuthentication]
    schema = None  # not part of the /api/ OpenAPI document
    # Personal tokens of members, and peer tokens (the federation collection only: `access.collections_for`);
    # scanner nodes get 403, nobody else anything.
    permission_classes = [IsMember | IsPeer]

    def initial(self, request, *args: Any, **kwargs: Any) -> None:
        # Authentication and permission first: an anonymous caller learns nothing, not even the media type.
        super().initial(request, *args, **kwargs)
        if request.META.get("HTTP_ACCEPT", "").replace(" ", "") != TAXII:
            raise exceptions.NotAcceptable(f"Send Accept: {TAXII}")

    def perform_content_negotiation(self, request, force=False):
        return (JSONRenderer(), TAXII)  # `initial` has checked Accept; every answer is built by `_respond`

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, selectors.TaxiiError):
            return _error(exc.status, exc.title, exc.description)
        if isinstance(exc, exceptions.APIException):
            response = _error(exc.status_code, exc.__class__.__name__, str(exc.detail))
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                response.status_code = 401
                response["WWW-Authenticate"] = TaxiiTokenAuthentication().authenticate_header(self.request)
            return response
        raise exc

    def collection(self, collection_id: str) -> str:
        """The collection's name, if this reader sees it at all (404 otherwise: its existence does not leak)."""
        for name in access.collections_for(self.request.user):
            if COLLECTIONS[name][0] == collection_id:
                return name
        raise selectors.TaxiiError(404, "Collection not found", "No collection with this id is available to you.")

    def filters(self) -> selectors.Filters:
        return selectors.parse_filters(self.request.query_params)


def _collection(name: str) -> dict:
    collection_id, description = COLLECTIONS[name]
    return {
        "id": collection_id,
        "title": name,
        "description": description,
        "can_read": True,
        "can_write": False,
        "media_types": [stix.MEDIA_TYPE],
    }


class DiscoveryView(TaxiiView):
    def get(self, request):
        root = request.build_absolute_uri(API_ROOT)
        return _respond(
            {
                "title": "Alliance Exchange TAXII 2.1",
                "description": "Alerts, best practices, scans and outcomes as STIX 2.1, as the reader may read them.",
                "default": root,
                "api_roots": [root],
            }
        )


class ApiRootView(TaxiiView):
    def get(self, request):
        return _respond(
            {
                "title": "Alliance Exchange",
                "description": "Signed alerts, best practices and scans of the EU port alliance. The signed-document "
                f"extension {stix.EXTENSION_ID} is at {request.build_absolute_uri(API_ROOT + 'extension-definition/')}.",
                "versions": [TAXII],
                "max_content_length": 0,  # read-only: nothing is accepted
            }
        )


class ExtensionDefinitionView(TaxiiView):
    """The extension definition every report and scan names, with the portal identity that defines it."""

    def get(self, request):
        return _respond({"more": False, "objects": [stix.extension_definition(), stix.portal_identity()]})


class CollectionsView(TaxiiView):
    def get(self, request):
        return _respond({"collections": [_collection(name) for name in access.collections_for(request.user)]})


class CollectionView(TaxiiView):
    def get(self, request, collection_id: str):
        return _respond(_collection(self.collection(collection_id)))


class ObjectsView(TaxiiView):
    def get(self, request, collection_id: str):
        collection = self.collection(collection_id)
        page = selectors.page(request.user, collection, self.filters())
        body = {"more": page.more, "next": page.next, "objects": selectors.stix_objects(page)}
        headers = _date_headers(page)
        if collection == access.FEDERATION:  # the peer's lag in sequence numbers (SPEC 10.2: lag per peer)
            headers["X-Alliance-Feed-Head"] = str(selectors.feed_head())
        return _respond(body, headers=headers)

    def post(self, request, collection_id: str):
        self.collection(collection_id)
        return _error(403, "Read-only collection", "This collection does not accept objects (can_write is false).")


class ManifestView(TaxiiView):
    def get(self, request, collection_id: str):
        page = selectors.page(request.user, self.collection(collection_id), self.filters())
        body = {"more": page.more, "next": page.next, "objects": selectors.manifest_records(page)}
        return _respond(body, headers=_date_headers(page))


class ObjectView(TaxiiView):
    def get(self, request, collection_id: str, object_id: str):
        collection = self.collection(collection_id)
        if object_id in STATIC_OBJECTS:
            return _respond({"more": False, "objects": [STATIC_OBJECTS[object_id]()]})
        if not selectors.exists(request.user, collection, object_id):
            return _error(404, "Object not found", "No object with this id is available to you here.")
        page = selectors.page(request.user, collection, self.filters(), stix_id=object_id)
        body = {"more": page.more, "next": page.next, "objects": selectors.stix_objects(page)}
        return _respond(body, headers=_date_headers(page))

    def delete(self, request, collection_id: str, object_id: str):
        self.collection(collection_id)
        return _error(403, "Read-only collection", "Objects cannot be deleted through TAXII here.")


class VersionsView(TaxiiView):
    def get(self, request, collection_id: str, object_id: str):
        collection = self.collection(collection_id)
        if not selectors.exists(request.user, collection, object_id):
            return _error(404, "Object not found", "No object with this id is available to you here.")
        page = selectors.page(request.user, collection, self.filters(), stix_id=object_id, default_version="all")
        body = {"more": page.more, "next": page.next, "versions": selectors.version_stamps(page)}
        return _respond(body, headers=_date_headers(page))
