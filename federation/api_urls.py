from django.urls import path

from . import views

urlpatterns = [path("federation/peers/", views.PeersApiView.as_view(), name="api-federation-peers")]
