from django.urls import path

from . import views as correlation_views

urlpatterns = [
    path("correlations/", correlation_views.correlation_list, name="correlation_list"),
    path("correlations/hits/<int:pk>/share/", correlation_views.hit_share, name="correlation_hit_share"),
    path("correlations/hits/<int:pk>/dismiss/", correlation_views.hit_dismiss, name="correlation_hit_dismiss"),
]
