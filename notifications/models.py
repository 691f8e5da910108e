"""Notices to members: feedback on your alert, a correlation, a displacement flag.

One row per recipient membership (fanned out when created), so read state is a
column and the inbox is one indexed range scan. A notice carries a subject and
a link, never the content: the link is opened through the access rule.
"""

from django.db import models

from ports.models import Membership


class Notification(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    subject = models.CharField(max_length=240)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["membership", "-created_at"], name="notification_inbox"),
            models.Index(fields=["membership", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"
