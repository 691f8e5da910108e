"""TAXII clients authenticate as SPEC section 10.3 says: a personal (later: peer) token as `Authorization: Token`,
as a bearer token, or as the password of HTTP Basic (any user name). The token rules are ports.auth's."""

import base64
import binascii

from rest_framework import authentication, exceptions

from ports.auth import TokenAuthentication


class TaxiiTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2:
            return None if not header else self._refuse()
        scheme, value = header[0].lower(), header[1]
        if scheme in (b"token", b"bearer"):
            raw = value
        elif scheme == b"basic":
            try:
                raw = base64.b64decode(value, validate=True).partition(b":")[2]
            except (binascii.Error, ValueError):
                return self._refuse()
        else:
            return None
        try:
            return self.authenticate_token(request, raw.decode("ascii"))
        except UnicodeError:
            return self._refuse()

    def _refuse(self):
        raise exceptions.AuthenticationFailed("Invalid authorization header.")

    def authenticate_header(self, request):
        return 'Basic realm="taxii2", charset="UTF-8"'
