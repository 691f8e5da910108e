"""Fixtures the interop tests share with the alerts API's tests: publishing, and the reader matrix's world."""

from tests.sharing.conftest import publish  # noqa: F401 - a fixture
from tests.sharing.test_access_matrix import world  # noqa: F401 - a fixture
