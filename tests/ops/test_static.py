"""Static files with hashed names under the production settings (ManifestStaticFilesStorage): collectstatic
writes them and the pages link them, so browsers and the proxy may cache them for a year."""

import re

import pytest
from django.core.management import call_command
from django.test import override_settings

MANIFEST = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "alliance.storage.StaticFilesStorage"},
}


def test_production_uses_the_manifest_storage():
    from alliance.settings import production

    assert production.STORAGES["staticfiles"]["BACKEND"] == MANIFEST["staticfiles"]["BACKEND"]


@pytest.mark.django_db
def test_collected_files_have_hashed_names_and_pages_link_them(client, tmp_path):
    # Django resets the static storage when these settings change (django.test.signals).
    with override_settings(STORAGES=MANIFEST, STATIC_ROOT=tmp_path, WHITENOISE_USE_FINDERS=False, DEBUG=False):
        call_command("collectstatic", "--noinput", verbosity=0)
        assert (tmp_path / "staticfiles.json").exists()
        hashed = list(tmp_path.glob("css/app.*.css"))
        assert hashed, "no hashed copy of css/app.css"
        page = client.get("/login/").content.decode()
        link = re.search(r'href="/static/(css/app\.[0-9a-f]{12}\.css)"', page)
        assert link, "the login page does not link the hashed stylesheet"
        assert (tmp_path / link.group(1)).exists()
