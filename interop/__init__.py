"""Interoperability (SPEC section 10.3): STIX 2.1 over TAXII 2.1, and a MISP feed.

What leaves through here is what `access` lets the reader read, no more.
"""
