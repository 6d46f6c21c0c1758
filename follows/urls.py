"""Following labs by email: asking, confirming, managing, unsubscribing (signed links)."""

from django.urls import path

from . import views

app_name = "follows"

urlpatterns = [
    path("labs/<slug:slug>/follow/", views.FollowLabView.as_view(), name="lab-follow"),
    path("follow/", views.FollowView.as_view(), name="follow"),
    path("follow/confirm/<str:token>/", views.ConfirmView.as_view(), name="confirm"),
    path("follow/manage/<str:token>/", views.ManageView.as_view(), name="manage"),
    path("follow/unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
]
