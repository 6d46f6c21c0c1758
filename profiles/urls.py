"""Public pages for readers; the models' get_absolute_url() reverse these names."""

from django.urls import path

from . import views

app_name = "profiles"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("labs/", views.LabListView.as_view(), name="lab-list"),
    path("labs/<slug:slug>/", views.LabDetailView.as_view(), name="lab-detail"),
    path("people/<slug:slug>/", views.PersonDetailView.as_view(), name="person-detail"),
    path("releases/", views.ReleaseListView.as_view(), name="release-list"),
    path("releases/<slug:slug>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    # Signed links (PreviewLink) that show an unpublished page to a reviewer without an account.
    path("preview/<str:signed_token>/", views.PreviewLinkView.as_view(), name="preview"),
]
