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
