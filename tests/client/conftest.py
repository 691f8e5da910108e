import pytest

from tests.conftest import WebServer


@pytest.fixture
def agency(transactional_db):
    """Antwerp customs, committed: the portal under test runs in its own process."""
    from ports.models import AgencyKind, Port
    from ports.services import agency_ensure, reference_ports_load

    reference_ports_load()
    return agency_ensure(kind=AgencyKind.CUSTOMS, port=Port.objects.get(locode="BEANR"), name="Antwerp customs")


@pytest.fixture
def web(redis_server, tmp_path):
    """The portal (gunicorn) on a free port, not started: a test starts (and may stop) it."""
    server = WebServer(redis_server.url, tmp_path / "web.log")
    yield server
    server.stop()
