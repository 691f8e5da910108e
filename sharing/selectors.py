"""Reads for alerts and practices: filters on top of the one access rule, never beside it."""

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from ports import audit

from .models import AlertIdentifier, PracticeTag, Tlp

# Reads of these levels are audited (SPEC section 9).
AUDITED_TLP = (Tlp.AMBER_STRICT, Tlp.RED)


def full_text(qs: QuerySet, q: str) -> QuerySet:
    """PostgreSQL full-text search in English, Dutch, French and German on the GIN-indexed vector
    (sharing.search); icontains on every word elsewhere (SQLite)."""
    q = (q or "").strip()
    if not q:
        return qs
    if connection.vendor == "postgresql":
        from .search import query

        return qs.filter(search_vector=query(q))
    for word in q.split()[:8]:
        qs = qs.filter(Q(title__icontains=word) | Q(body__icontains=word))
    return qs


def with_identifier(qs: QuerySet, kind: str, value: str) -> QuerySet:
    return qs.filter(Exists(AlertIdentifier.objects.filter(alert=OuterRef("pk"), kind=kind, value=value)))


def with_tag(qs: QuerySet, tag: str) -> QuerySet:
    return qs.filter(Exists(PracticeTag.objects.filter(practice=OuterRef("pk"), tag=tag)))


def audit_reads(user, objects, *, object_type: str, via: str) -> None:
    """One audit entry per request for the AMBER+STRICT and RED objects it returned."""
    audited = [obj for obj in objects if obj.tlp in AUDITED_TLP]
    if not audited:
        return
    if len(audited) == 1 and via == "detail":
        obj = audited[0]
        audit.record(user, f"{object_type}.read", obj, {"version": obj.version, "tlp": obj.tlp, "via": via})
        return
    audit.record(
        user,
        f"{object_type}.read",
        None,
        {"ids": [str(getattr(o, f"{object_type}_id", None) or o.pk) for o in audited], "via": via},
        object_type=f"sharing.{object_type}",
    )
