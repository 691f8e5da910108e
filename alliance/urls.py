from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from notifications import urls as notifications_urls
from ports import api as ports_api
from ports import views as ports_views

from .health import healthz

# Swagger UI's bundle injects one fixed <style> element; allow exactly that
# stylesheet by hash on the docs page only (no 'unsafe-inline', no eval).
SWAGGER_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"


@method_decorator(csp_update({"style-src": [SWAGGER_STYLE_HASH]}), name="dispatch")
class SwaggerUiView(SpectacularSwaggerSplitView):
    pass


api_v1 = [
    path("ports/", ports_api.PortListApi.as_view(), name="api-ports"),
    path("agencies/", ports_api.AgencyListApi.as_view(), name="api-agencies"),
    path("me/", ports_api.MeApi.as_view(), name="api-me"),
    path("members/", ports_api.MemberListApi.as_view(), name="api-members"),
    path("webhooks/", include("webhooks.api_urls")),
    path("", include("sharing.api_urls")),
    path("", include("trends.api_urls")),
    path("", include(notifications_urls.api_urlpatterns)),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUiView.as_view(url_name="schema"), name="swagger-ui"),
    path("login/", ports_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/2fa/setup/", ports_views.totp_setup, name="totp_setup"),
    path("account/2fa/verify/", ports_views.totp_verify, name="totp_verify"),
    path("account/", include("ports.account_urls")),
    # Inbox and /agency/subscriptions/, before the agency/<slug>/ pages ("subscriptions" is not an agency).
    path("", include("sharing.inbox_urls")),
    # Before agency/<slug>/ pages: /agency/webhooks/ is not an agency.
    path("", include("webhooks.urls")),
    path("agency/", include("ports.admin_urls")),
    path("", ports_views.home, name="home"),
    path("", include("sharing.urls")),
    path("", include("trends.urls")),
    path("", include(notifications_urls.urlpatterns)),
    path("django-admin/", admin.site.urls),
]
