"""An email backend whose first send fails like an SMTP server that is down (a real failure path, not a mock
of our code: the service under test sends through Django's backend interface as it does in production)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend

SENT: list = []
_FAILED: list = []


class FailingOnceBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        if not _FAILED:
            _FAILED.append(True)
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        SENT.extend(email_messages)
        return len(email_messages)
