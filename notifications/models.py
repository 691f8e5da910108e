"""Notices to members: feedback on your alert, a correlation, a displacement flag, a delivery, a new alert.

One row per recipient membership (fanned out when created), so read state is a
column and the inbox is one indexed range scan. A notice carries a subject and
a link, never the content: the link is opened through the access rule.

Email is built on the notices: `EmailRecord` is the idempotency record of every email
(one immediate email per notice, one digest per member and day).
"""

from django.conf import settings
from django.db import models

from ports.models import Membership

from . import subjects


class Notification(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    # The subject as English text; `message` (notifications.subjects) renders it in the reader's language.
    subject = models.CharField(max_length=240)
    message = models.JSONField(null=True, blank=True)
    url = models.CharField(max_length=300, blank=True)
    # The TLP label of the document the notice is about (blank: none, e.g. a correlation or a flag).
    # An email carries the subject only when this is GREEN or CLEAR (SPEC: no content above TLP:GREEN).
    tlp = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["membership", "-created_at"], name="notification_inbox"),
            models.Index(fields=["membership", "read_at"], name="notification_unread"),
            models.Index(fields=["created_at"], name="notification_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"

    @property
    def text(self) -> str:
        """The subject in the active language (the reader's page, or the recipient's email)."""
        return subjects.render(self.message, self.subject)


class EmailRecord(models.Model):
    """One email claimed or sent: `key` is `notice:<id>` or `digest:<user id>:<day>`.

    The row is inserted (unique key) before sending and marked sent after: a second run of the
    same task finds the key taken and sends nothing; a failed send removes the claim so that the
    task's retry sends it. A worker killed between sending and marking leaves a claimed, unsent
    row, which is never sent again: at most once, never twice.
    """

    key = models.CharField(max_length=80, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    notices = models.PositiveIntegerField(default=1)
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        indexes = [models.Index(fields=["user", "-claimed_at"], name="email_record_user")]

    def __str__(self) -> str:
        return self.key
