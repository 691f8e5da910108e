"""Reference data, the caller, the member directory and keys, mounted under /api/v1/."""

from django.urls import path

from . import api, api_keys

urlpatterns = [
    path("ports/", api.PortListApi.as_view(), name="api-ports"),
    path("agencies/", api.AgencyListApi.as_view(), name="api-agencies"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("members/", api.MemberListApi.as_view(), name="api-members"),
    path("keys/", api_keys.KeyListRegisterApi.as_view(), name="api-keys"),
    path("keys/rotate/", api_keys.KeyRotateApi.as_view(), name="api-keys-rotate"),
    path("keys/<str:kid>/revoke/", api_keys.KeyRevokeApi.as_view(), name="api-key-revoke"),
]
