from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.decorators import method_decorator
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from notifications import urls as notifications_urls
from notifications import views as notifications_views
from ports import account_views
from ports import views as ports_views
from ports.admin import VerifiedAdminSite
from ports.api_keys import JwksView

from .health import healthz, livez
from .metrics import metrics_view

# Django admin only behind a session verified with the second factor, every change audited
# (the way django-otp documents it: apps have already registered on the default site).
admin.site.__class__ = VerifiedAdminSite

# Swagger UI's bundle injects one fixed <style> element; allow exactly that
# stylesheet by hash on the docs page only (no 'unsafe-inline', no eval).
SWAGGER_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"


@method_decorator(csp_update({"style-src": [SWAGGER_STYLE_HASH]}), name="dispatch")
class SwaggerUiView(SpectacularSwaggerSplitView):
    pass


api_v1 = [
    path("", include("ports.api_urls")),
    path("webhooks/", include("webhooks.api_urls")),
    path("", include("sharing.api_urls")),
    path("", include("scans.api_urls")),
    path("", include("correlation.api_urls")),
    path("", include("trends.api_urls")),
    path("", include(notifications_urls.api_urlpatterns)),
    path("", include("federation.api_urls")),  # ---- federation
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUiView.as_view(url_name="schema"), name="swagger-ui"),
    # The language switcher (POST: the language cookie, and a signed-in member's stored choice) and the JavaScript
    # catalogue: a static-looking script from 'self', so the strict CSP needs no exception.
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("login/", ports_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/2fa/setup/", ports_views.totp_setup, name="totp_setup"),
    path("account/2fa/verify/", ports_views.totp_verify, name="totp_verify"),
    path("account/", include("ports.account_urls")),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("", include("federation.urls")),  # ---- federation: /.well-known/alliance-instance.json, /operator/peers/
    # Scans, inbox and /agency/subscriptions/, before the agency/<slug>/ pages ("subscriptions" is not an agency).
    path("", include("scans.urls")),
    # Before agency/<slug>/ pages: /agency/webhooks/ is not an agency.
    path("", include("webhooks.urls")),
    path("agency/", include("ports.admin_urls")),
    path("", notifications_views.home, name="home"),
    path("", include("sharing.urls")),
    path("", include("correlation.urls")),
    path("", include("trends.urls")),
    path("", include(notifications_urls.urlpatterns)),
    path("", include("interop.urls")),
    path("django-admin/", admin.site.urls),
]
