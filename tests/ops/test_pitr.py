"""Point-in-time recovery, rehearsed (issue 17): scripts/pitr_rehearsal.sh runs a real cluster with WAL
archiving to an encrypted pgBackRest repository, restores it to a point in time on a new cluster, and proves
there that signatures and the audit chain verify and that signing needs the key-encryption key."""

import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_base_backup_wal_archive_and_restore_to_a_point_in_time():
    result = subprocess.run(
        ["bash", "scripts/pitr_rehearsal.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for proof in (
        "BEFORE restored, AFTER (after the target time) absent",
        "0 invalid.",
        "Audit chain OK",
        "without ALLIANCE_KEK the restored keys cannot sign",
        "the repository holds neither the KEK nor its passphrase",
        "PITR REHEARSAL OK",
    ):
        assert proof in output, proof
