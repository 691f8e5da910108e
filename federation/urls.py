from django.urls import path

from . import views

urlpatterns = [
    path(".well-known/alliance-instance.json", views.InstanceDocumentView.as_view(), name="alliance-instance"),
    path("operator/peers/", views.peers_page, name="federation_peers"),
]
