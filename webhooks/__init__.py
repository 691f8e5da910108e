"""Webhooks (SPEC section 6): relayed scans POSTed to agencies' own systems, signed by the portal."""
