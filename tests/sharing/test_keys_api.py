"""Key management through the API: agency admins with a second-factor session; tokens and others refused."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ports.keys import public_x, thumbprint
from ports.models import AuditEntry, SigningKey


def _new_x() -> str:
    return public_x(Ed25519PrivateKey.generate().public_key())


@pytest.fixture
def admin(cast, verified_session):
    return verified_session(cast["users"]["antwerp_admin"])


def test_register_an_external_key_by_x_and_pem(cast, admin, api):
    x = _new_x()
    response = admin.post("/api/v1/keys/", {"agency": "beanr-customs", "x": x}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": thumbprint(x),
        "use": "sig",
        "alg": "EdDSA",
        "owner": "beanr-customs",
        "status": "active",
    }
    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert admin.post("/api/v1/keys/", {"agency": "beanr-customs", "pem": pem}, format="json").status_code == 201
    # A public key is registered once only.
    again = admin.post("/api/v1/keys/", {"agency": "beanr-customs", "x": x}, format="json")
    assert again.status_code == 400
    assert "x" in again.json()["errors"]
    assert x in {k["x"] for k in api.get("/.well-known/jwks.json").json()["keys"]}
    assert AuditEntry.objects.filter(action="key.created", object_id=thumbprint(x)).exists()


def test_bad_key_material(cast, admin):
    for body in ({"agency": "beanr-customs", "x": "not-a-key"}, {"agency": "beanr-customs"}):
        response = admin.post("/api/v1/keys/", body, format="json")
        assert response.status_code == 400


def test_rotate_retires_the_held_key(cast, admin, publish, api):
    first = publish(cast["users"]["author"])
    response = admin.post("/api/v1/keys/rotate/", {"agency": "beanr-customs"}, format="json")
    assert response.status_code == 201
    new_kid = response.json()["kid"]
    statuses = {k["kid"]: k["status"] for k in api.get("/.well-known/jwks.json").json()["keys"]}
    assert statuses[first["kid"]] == "retired"
    assert statuses[new_kid] == "active"
    assert publish(cast["users"]["author"])["kid"] == new_kid


def test_revoke(cast, admin, publish, api_as):
    first = publish(cast["users"]["author"])
    response = admin.post(f"/api/v1/keys/{first['kid']}/revoke/", {"reason": "HSM lost"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert SigningKey.objects.get(kid=first["kid"]).revocation_reason == "HSM lost"
    detail = api_as(cast["users"]["hamburg_police"]).get(f"/api/v1/alerts/{first['id']}/")
    assert detail.json()["signature_status"] == "key_revoked"
    no_reason = admin.post(f"/api/v1/keys/{first['kid']}/revoke/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["errors"]
    again = admin.post(f"/api/v1/keys/{first['kid']}/revoke/", {"reason": "second"}, format="json")
    assert again.status_code == 400
    assert "kid" in again.json()["errors"]
    assert SigningKey.objects.get(kid=first["kid"]).revocation_reason == "HSM lost"


def test_personal_token_and_unverified_session_are_refused(cast, api_as):
    admin_user = cast["users"]["antwerp_admin"]
    for client in (api_as(admin_user), api_as(admin_user, token=False)):
        assert (
            client.post("/api/v1/keys/", {"agency": "beanr-customs", "x": _new_x()}, format="json").status_code == 403
        )
        assert client.post("/api/v1/keys/rotate/", {"agency": "beanr-customs"}, format="json").status_code == 403
    assert SigningKey.objects.filter(agency__slug="beanr-customs").count() == 0


def test_admin_of_another_agency_or_non_admin_is_refused(cast, make_member, verified_session, publish):
    kid = publish(cast["users"]["author"])["kid"]
    rotterdam_admin = verified_session(make_member("rotterdam.admin", "nlrtm-customs", "admin").user)
    assert rotterdam_admin.post("/api/v1/keys/rotate/", {"agency": "beanr-customs"}, format="json").status_code == 403
    assert rotterdam_admin.post(f"/api/v1/keys/{kid}/revoke/", {"reason": "x"}, format="json").status_code == 403
    officer = verified_session(cast["users"]["author"])
    assert officer.post("/api/v1/keys/", {"agency": "beanr-customs", "x": _new_x()}, format="json").status_code == 403
    assert SigningKey.objects.get(kid=kid).status == "active"


def test_members_list_keys_with_a_token_and_anonymous_cannot(cast, api, api_as, publish):
    publish(cast["users"]["author"])
    assert api.get("/api/v1/keys/").status_code == 401
    keys = api_as(cast["users"]["rotterdam_terminal"]).get("/api/v1/keys/").json()["keys"]
    assert {k["owner"] for k in keys} >= {"beanr-customs"}
