"""Members with email addresses and email choices, and the alert helpers of the sharing tests."""

import pytest

from ports.models import UserProfile
from tests.sharing.conftest import alert_fields, container, publish  # noqa: F401 - fixtures and helpers


@pytest.fixture
def mailable(cast):
    """Every member of the cast gets an address; `choose(user, **modes)` sets their email choices."""
    for user in cast["users"].values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
        UserProfile.objects.get_or_create(user=user)

    def choose(user, **modes) -> None:
        UserProfile.objects.filter(user=user).update(**{f"email_{k}": v for k, v in modes.items()})

    return choose


def make_flag(**overrides):
    """A stored displacement flag NLRTM -> BEANR on ECGYE (fields as the detector writes them)."""
    from datetime import date

    from django.utils import timezone

    from trends.models import DisplacementFlag

    now = timezone.now()
    fields = {
        "from_port_id": "NLRTM",
        "to_port_id": "BEANR",
        "origin_id": "ECGYE",
        "tightening_starts_on": date(2025, 3, 3),
        "tightening_source": "measure",
        "window_before_start": date(2024, 9, 2),
        "window_before_end": date(2025, 3, 3),
        "window_after_start": date(2025, 3, 17),
        "window_after_end": date(2025, 6, 9),
        "lag_weeks": 2,
        "wdq": -0.8,
        "effect": 0.9,
        "p_value": 0.0004,
        "p_raw": 0.00001,
        "confidence": "high",
        "evidence": [],
        "detected_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return DisplacementFlag.objects.create(**fields)
