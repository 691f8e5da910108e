"""Best-practice writes (SPEC section 3): the same signed life cycle as alerts."""

from django.db import transaction

from ports.models import Membership

from .. import documents
from ..models import Practice, PracticeGrant, PracticeTag, PracticeVersion
from . import signed


def _index_tags(practice: Practice, doc: dict) -> None:
    PracticeTag.objects.filter(practice=practice).delete()
    PracticeTag.objects.bulk_create([PracticeTag(practice=practice, tag=t) for t in doc["tags"]])


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
    return signed.publish(PRACTICE, membership=membership, data=data)


@transaction.atomic
def practice_publish_signed(*, user, jws: str) -> Practice:
    return signed.publish_signed(PRACTICE, user=user, jws=jws)


@transaction.atomic
def practice_version_create(*, membership: Membership, practice: Practice, data: dict) -> Practice:
    practice = signed.lock_head(PRACTICE, practice)
    return signed.new_version(PRACTICE, membership=membership, head=practice, data=data)


@transaction.atomic
def practice_version_create_signed(*, user, practice: Practice, jws: str) -> Practice:
    practice = signed.lock_head(PRACTICE, practice)
    return signed.publish_signed(PRACTICE, user=user, jws=jws, head=practice)
