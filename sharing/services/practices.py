"""Best-practice writes (SPEC section 3): the same signed life cycle as alerts."""

from django.db import transaction

from alliance import hooks
from ports.models import Membership

from .. import documents
from ..models import Practice, PracticeGrant, PracticeTag, PracticeVersion
from . import signed


def _index_tags(practice: Practice, doc: dict) -> None:
    PracticeTag.objects.filter(practice=practice).delete()
    PracticeTag.objects.bulk_create([PracticeTag(practice=practice, tag=t) for t in doc["tags"]])


def _published(practice: Practice) -> Practice:
    """Hooks that must land with the version or not at all (the TAXII feed's entry)."""
    hooks.run("practice_published", practice)
    return practice


PRACTICE = signed.Kind(
    name="practice",
    typ=documents.PRACTICE_TYP,
    model=Practice,
    version_model=PracticeVersion,
    grant_model=PracticeGrant,
    fk="practice",
    keys=documents.PRACTICE_KEYS,
    validate=documents.validate_practice,
    document=documents.practice_document,
    search_fields=("title", "body"),
    index_rows=_index_tags,
)


@transaction.atomic
def practice_publish(*, membership: Membership, data: dict) -> Practice:
    return _published(signed.publish(PRACTICE, membership=membership, data=data))


@transaction.atomic
def practice_publish_signed(*, user, jws: str) -> Practice:
    return _published(signed.publish_signed(PRACTICE, user=user, jws=jws))


@transaction.atomic
def practice_version_create(*, membership: Membership, practice: Practice, data: dict) -> Practice:
    practice = signed.lock_head(PRACTICE, practice)
    return _published(signed.new_version(PRACTICE, membership=membership, head=practice, data=data))


@transaction.atomic
def practice_version_create_signed(*, user, practice: Practice, jws: str) -> Practice:
    practice = signed.lock_head(PRACTICE, practice)
    return _published(signed.publish_signed(PRACTICE, user=user, jws=jws, head=practice))


@transaction.atomic
def practice_store_copy(*, agency, key, jws: str, payload: dict) -> tuple[Practice | None, bool]:
    """A version of a practice homed at another instance (SPEC 10.2), stored unchanged."""
    head, stored = signed.store_copy(PRACTICE, agency=agency, key=key, jws=jws, payload=payload)
    if stored and head is not None and head.version == payload["version"]:
        _published(head)
    return head, stored


@transaction.atomic
def practice_remove_copy(*, practice_id) -> bool:
    if not Practice.objects.filter(pk=practice_id).exists():
        return False
    PracticeVersion.objects.filter(practice_id=practice_id).delete()
    Practice.objects.filter(pk=practice_id).delete()
    return True
