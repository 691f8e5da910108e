from django.urls import path

from . import api, views

api_urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/<int:pk>/read/", api.NotificationReadApi.as_view(), name="api-notification-read"),
]

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("mail/", views.mail_list, name="mail_list"),
]
