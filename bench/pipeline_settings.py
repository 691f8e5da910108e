"""End-to-end pipeline benchmark settings: the bench settings with production's persistent connections.

The test settings close the connection after every request (CONN_MAX_AGE = 0); production keeps it for
CONN_MAX_AGE seconds (60 unless set). The pipeline benchmark runs as production does, or as the
environment says, so the two can be compared side by side.
"""

import os

from bench.settings import *  # noqa: F403
from bench.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
