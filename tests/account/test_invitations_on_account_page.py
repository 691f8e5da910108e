"""Pending invitations on the account page: accept or decline there; someone else's is a 404."""

from django.test import Client

from ports.models import Agency, Invitation, Membership
from ports.services import invitation_send


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_accept_and_decline_from_the_account_page(cast):
    officer = cast["users"]["author"]
    police, rotterdam = Agency.objects.get(slug="beanr-police"), Agency.objects.get(slug="nlrtm-customs")
    root = cast["users"]["superuser"]
    invitation_send(agency=police, username=officer.username, role="analyst", actor=root)
    invitation_send(agency=rotterdam, username=officer.username, role="analyst", actor=root)
    client = _session(officer)
    page = client.get("/account/").content.decode()
    assert 'data-agency="beanr-police"' in page
    assert 'data-agency="nlrtm-customs"' in page
    accept = Invitation.objects.get(agency=police, user=officer)
    decline = Invitation.objects.get(agency=rotterdam, user=officer)
    response = client.post(f"/account/invitations/{accept.pk}/accept/", {"back": "account"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    response = client.post(f"/account/invitations/{decline.pk}/decline/", {"back": "account"})
    assert response["Location"] == "/account/"
    assert Membership.objects.filter(user=officer, agency=police, is_active=True).exists()
    assert not Membership.objects.filter(user=officer, agency=rotterdam).exists()
    assert "No invitations are waiting for you." in client.get("/account/").content.decode()


def test_someone_elses_invitation_is_invisible_and_untouchable(cast):
    officer, intruder = cast["users"]["author"], cast["users"]["hamburg_customs"]
    police = Agency.objects.get(slug="beanr-police")
    invitation_send(agency=police, username=officer.username, role="analyst", actor=cast["users"]["superuser"])
    invitation = Invitation.objects.get(user=officer)
    other = _session(intruder)
    assert 'data-agency="beanr-police"' not in other.get("/account/").content.decode()
    for answer in ("accept", "decline"):
        assert other.post(f"/account/invitations/{invitation.pk}/{answer}/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert not Membership.objects.filter(user=intruder, agency=police).exists()
