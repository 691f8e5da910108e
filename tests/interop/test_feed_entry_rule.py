"""The TLP rule over a feed entry's copied columns agrees with the rule over the alert itself (SPEC section 4).

`access.feeds` skips entries by the copies of their alert's head tlp and author before it probes the alert
(docs/benchmarks.md, TAXII: the narrow reader's walk). Both conditions come from `access.documents._tlp_condition`;
these properties check, on drawn alliances of alerts (every level, audiences naming agencies, ports and members,
handling codes, new versions that change the level and audience) against every reader of the cast, that:

- the entry rule selects exactly the alerts the object rule selects (no entry wrongly skipped, none let through);
- what the `alerts` collection offers is exactly the exportable alerts' versions without H2 and H3;
- copies tampered with in SQL (any level, any author) never widen what a reader gets: the alert still decides.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import access
from access.feeds import ENTRY_COLUMNS
from interop.models import FeedEntry, FeedKind
from interop.services import sequence_all
from sharing.models import AlertVersion, Handling
from sharing.services.alerts import alert_publish, alert_version_create
from tests.sharing.conftest import alert_fields

pytestmark = pytest.mark.django_db

LEVELS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
AGENCIES = ["beanr-customs", "nlrtm-customs", "nlrtm-terminal-operator", "deham-police", "europol"]
PORTS = ["DEHAM", "NLRTM", "BEANR"]
MEMBERS = ["rotterdam_customs", "hamburg_terminal", "europol_liaison", "colleague"]
AUTHORS = ["author", "hamburg_customs"]
HANDLING = [None, Handling.H1, Handling.H2, Handling.H3]


# Which audience lists a level takes (the service refuses the others): CLEAR and GREEN none.
LISTS = {"AMBER": ("agencies", "ports"), "AMBER+STRICT": ("agencies",), "RED": ("users",)}
CHOICES = {"agencies": AGENCIES, "ports": PORTS, "users": MEMBERS}


@st.composite
def versions(draw):
    tlp = draw(st.sampled_from(LEVELS))
    audience = {name: [] for name in CHOICES}
    for name in LISTS.get(tlp, ()):
        audience[name] = sorted(draw(st.sets(st.sampled_from(CHOICES[name]), max_size=2)))
    return {"tlp": tlp, "audience": audience, "handling": draw(st.sampled_from(HANDLING))}


@st.composite
def alerts(draw):
    """One alert: its author, first version and, maybe, a second version with another level and audience."""
    second = draw(versions()) if draw(st.booleans()) else None
    return draw(st.sampled_from(AUTHORS)), draw(versions()), second


def _with_handles(fields: dict, cast) -> dict:
    audience = dict(fields["audience"])
    audience["users"] = sorted(cast["memberships"][name].handle for name in audience["users"])
    return {**fields, "audience": audience}


def _publish(cast, author: str, first: dict, second: dict | None) -> None:
    membership = cast["memberships"][author]
    try:
        with transaction.atomic():
            alert = alert_publish(membership=membership, data=alert_fields(**_with_handles(first, cast)))
    except ValidationError:
        return  # a combination the service refuses (e.g. an audience a level does not take): nothing stored
    if second is not None:
        try:
            with transaction.atomic():
                alert_version_create(membership=membership, alert=alert, data=_with_handles(second, cast))
        except ValidationError:
            pass


def _entry_rule(user) -> set[str]:
    entries = FeedEntry.objects.filter(kind=FeedKind.ALERT, seq__isnull=False)
    rule = access.tlp_condition_on(user, "alert", ENTRY_COLUMNS)
    return {str(i) for i in entries.filter(rule).values_list("object_id", flat=True)}


def _offered(user) -> set[tuple[str, int]]:
    entries = access.feed_entries_for(user, access.ALERTS).filter(kind=FeedKind.ALERT)
    return {(str(o), v) for o, v in entries.values_list("object_id", "version")}


def _exportable_versions(user) -> set[tuple[str, int]]:
    exportable = access.alerts_exportable_to(user).filter(integrity_failed=False).values("pk")
    versions = AlertVersion.objects.filter(alert__in=exportable).exclude(handling__in=(Handling.H2, Handling.H3))
    return {(str(a), v) for a, v in versions.values_list("alert_id", "version")}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=st.lists(alerts(), min_size=1, max_size=4), tamper=st.sampled_from(LEVELS))
def test_entry_rule_agrees_with_object_rule(cast, world, tamper):
    readers = cast["users"]
    with transaction.atomic():
        for author, first, second in world:
            _publish(cast, author, first, second)
        sequence_all()
        for name, user in readers.items():
            objects = {str(i) for i in access.alerts_visible_to(user).values_list("id", flat=True)}
            assert _entry_rule(user) == objects, name
            assert _offered(user) == _exportable_versions(user), name
        # Hostile copies: every entry claims `tamper` and the reader's own handle as author. The alert decides.
        honest = {name: _offered(user) for name, user in readers.items()}
        for name, user in readers.items():
            handle = cast["memberships"][name].handle if name in cast["memberships"] else "nobody"
            with connection.cursor() as cur:
                cur.execute("UPDATE interop_feedentry SET tlp = %s, author = %s WHERE kind = 'alert'", [tamper, handle])
            assert _offered(user) <= honest[name], (name, tamper)
        transaction.set_rollback(True)


def test_a_new_version_moves_every_copy(cast, publish_alert, new_version):
    """A GREEN alert made RED by its second version: both entries now carry RED and the new author."""
    alert = publish_alert("author", tlp="GREEN")
    new_version(alert, tlp="RED", audience={"agencies": [], "ports": [], "users": []})
    copies = set(FeedEntry.objects.filter(kind=FeedKind.ALERT, object_id=alert.pk).values_list("tlp", "author"))
    assert copies == {("RED", cast["memberships"]["author"].handle)}
    colleague = cast["users"]["colleague"]  # reads GREEN, not the author's RED
    assert not access.feed_entries_for(colleague, access.ALERTS).filter(object_id=alert.pk).exists()


def test_the_backfill_copies_the_heads(cast, publish_alert):
    from interop.services import copy_heads

    alert = publish_alert("author", tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    FeedEntry.objects.filter(object_id=alert.pk).update(tlp=None, author=None)
    assert copy_heads() >= 1
    assert set(FeedEntry.objects.filter(object_id=alert.pk).values_list("tlp", "author")) == {
        ("AMBER", cast["memberships"]["author"].handle)
    }
