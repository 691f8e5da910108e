import pytest

from tests.scans.helpers import Node


@pytest.fixture
def antwerp_node(cast, make_agency):
    return Node("beanr-xr-01", make_agency("beanr-customs"))


@pytest.fixture
def rotterdam_node(cast, make_agency):
    return Node("nlrtm-xr-01", make_agency("nlrtm-customs"))
