"""Alerts, best practices and feedback (signed documents under TLP 2.0)."""
