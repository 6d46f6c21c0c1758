"""Public pages for readers; the models' get_absolute_url() reverse these names."""

from django.contrib.sitemaps import views as sitemap_views
from django.urls import path
from django.views.generic import TemplateView

from . import feeds, views
from .slug_history import follow_old_slugs, published_labs, published_releases
from .sitemaps import SITEMAPS

app_name = "profiles"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("labs/", views.LabListView.as_view(), name="lab-list"),
    path("labs/<slug:slug>/", views.LabDetailView.as_view(), name="lab-detail"),
    # A renamed lab's old feed URLs answer 301 (slug_history.py); feeds show published labs only.
    path("labs/<slug:slug>/feed/", follow_old_slugs(feeds.ChangesFeed(), published_labs), name="lab-feed"),
    path("labs/<slug:slug>/feed/atom/", follow_old_slugs(feeds.AtomChangesFeed(), published_labs), name="lab-feed-atom"),
    path("labs/<slug:slug>/changes/", follow_old_slugs(views.LabChangesView.as_view(), published_labs), name="lab-changes"),
    path("compare/", views.CompareView.as_view(), name="compare"),
    # Social cards (og:image): published data only; a renamed lab's or release's old card URL answers 301.
    path("labs/<slug:slug>/card.png", follow_old_slugs(views.LabCardView.as_view(), published_labs), name="lab-card"),
    path("releases/<slug:slug>/card.png", follow_old_slugs(views.ReleaseCardView.as_view(), published_releases),
         name="release-card"),
    path("compare/card.png", views.CompareCardView.as_view(), name="compare-card"),
    path("people/", views.PersonListView.as_view(), name="person-list"),
    path("people/<slug:slug>/", views.PersonDetailView.as_view(), name="person-detail"),
    path("releases/", views.ReleaseListView.as_view(), name="release-list"),
    path("releases/<slug:slug>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    path("sources/<slug:slug>/", views.SourceDetailView.as_view(), name="source-detail"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("feed/", feeds.ChangesFeed(), name="feed"),
    path("feed/atom/", feeds.AtomChangesFeed(), name="feed-atom"),
    path("changes/", views.ChangesView.as_view(), name="changes"),
    path("changes/feed/", feeds.ChangelogFeed(), name="changes-feed"),
    path("sitemap.xml", sitemap_views.index, {"sitemaps": SITEMAPS, "sitemap_url_name": "profiles:sitemap-section"},
         name="sitemap"),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS}, name="sitemap-section"),
    path("robots.txt", TemplateView.as_view(template_name="robots.txt", content_type="text/plain"), name="robots"),
    # Signed links (PreviewLink) that show an unpublished page to a reviewer without an account.
    path("preview/<str:signed_token>/", views.PreviewLinkView.as_view(), name="preview"),
]
