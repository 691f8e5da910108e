from django.db import migrations


class Migration(migrations.Migration):
    """Two branches of work each added a 0006: member preferences and token expiry; agency home instances and
    peer tokens. They touch different columns."""

    dependencies = [
        ("ports", "0006_agency_home_instance_peer_tokens"),
        ("ports", "0006_member_preferences_token_expiry"),
    ]

    operations = []
