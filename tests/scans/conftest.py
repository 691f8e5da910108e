import pytest

from .helpers import Node


@pytest.fixture
def antwerp_node(cast, make_agency):
    return Node("beanr-xr-01", make_agency("beanr-customs"))


@pytest.fixture
def hamburg_node(cast, make_agency):
    return Node("deham-xr-01", make_agency("deham-customs"))
