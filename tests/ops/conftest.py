from tests.scans.conftest import antwerp_node  # noqa: F401 - a scanner node at Antwerp, for the push counters
