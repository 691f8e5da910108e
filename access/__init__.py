"""The one access rule (SPEC section 4), in one place.

Every list, detail, search, count, export, relay, webhook, correlation and
notification asks this package; views and services never filter on TLP,
sector, role or signature status themselves. One module per kind of object;
everything public is re-exported here, so callers write `access.alerts_visible_to(user)`.
"""

from .correlations import (  # noqa: F401
    correlations_visible_to,
    hits_for,
)
from .deliveries import (  # noqa: F401
    deliveries_visible_to,
    delivery_rows,
    get_delivery_for,
    get_subscription_for,
    signed_deliveries,
    subscription_admin_agency_ids,
    subscription_admin_memberships,
    subscriptions_managed_by,
)
from .documents import (  # noqa: F401
    FEED_TLPS,
    Readership,
    acting_officer_membership,
    alert_rows,
    alerts_exportable_to,
    alerts_feedable_to,
    alerts_visible_to,
    editor_membership,
    feedback_membership,
    feedback_signature_status_of,
    feedback_visible_to,
    get_alert_for,
    get_feed_alert_for,
    get_practice_for,
    practice_rows,
    practices_visible_to,
    readers_of,
    signature_status_of,
    tlp_condition_on,
    verified_for,
)
from .feeds import (  # noqa: F401
    ALERTS,
    FEDERATION,
    NEVER_LEAVES,
    SCANS,
    collections_for,
    feed_entries_for,
    peer_left_out_reason,
    peer_reader,
    verified_feed_rows,
)
from .notifications import (  # noqa: F401
    notifications_for,
    unread_count,
)
from .reader import (  # noqa: F401
    ANONYMOUS,
    INTEGRITY_ROLES,
    Reader,
    View,
    integrity_agency_ids,
    membership_holds,
    memberships_with_role,
    public_memberships,
    public_sector_required,
    reader_for,
    reader_for_agencies,
)
from .reports import (  # noqa: F401
    READ_ACTIONS,
    ItemReaders,
    ReadEvent,
    User,
    agency_items,
    agency_read_entries,
    read_events,
    readers_for_items,
)
from .scans import (  # noqa: F401
    VIEW_SCAN,
    get_scan_for,
    scan_readable_by_agency,
    scan_rows,
    scan_signature_status,
    scans_visible_to,
    verified_scans,
)
from .trends import (  # noqa: F401
    MASK,
    can_read_trends,
    flags_visible_to,
    get_flag_for,
    mask_count,
    unmasked_ports,
)
from .webhooks import (  # noqa: F401
    attempts_for,
    dead_letters_for,
    endpoints_for,
    get_dead_letter_for,
    get_endpoint_for,
    webhook_admin_agency_ids,
)
