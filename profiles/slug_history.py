"""
Old links keep working: when the slug of a lab, person, release or source changes, its
old URLs (the page, the lab's feeds, the API detail, ``?format=json`` and all) answer
301 to the object's URL now.

Each change of slug is recorded as an ``OldSlug`` (receivers below, connected in
``ProfilesConfig.ready``). A record names the *object*, not the next slug, so a chain of
renames collapses by itself (a -> b -> c: a and b both go straight to c), and renaming
back (a -> b -> a) cannot loop: a slug an object holds again, or that another object of
the same kind takes, loses its record. Deleting the object deletes its records.

The redirect is looked up only where the normal lookup would answer 404 (a live object
holding the slug always wins), through the same rule as that lookup: a reader is sent
only to what a reader may see, so the old slug of a draft stays a plain 404 and never
reveals the draft's new slug; staff, who may open drafts, are redirected to them (with
a private, uncacheable answer). Only GET and HEAD are redirected: a write to an old slug
is a 404, as a 301 would make clients resend a POST as a GET, or apply a PATCH to an
object they did not name as it is now.

Why not ``django.contrib.redirects``: it needs the sites framework, matches whole paths
(a row for each page, feed and API URL of each old slug, to be rewritten at every later
rename) and drops the query string (``?format=json``). Our model is one small row per
old slug.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import Http404, HttpResponsePermanentRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control

# How long a browser or a proxy may keep a reader's 301. A 301 without a max-age is kept
# for good, and a slug can be renamed back: a browser holding a -> b would then loop
# once the server says b -> a. Staff's redirects are never kept (they may name drafts).
REDIRECT_MAX_AGE = 300


def tracked_models():
    from .models import Lab, Person, Release, Source

    return (Lab, Person, Release, Source)


# --- recording: receivers ---------------------------------------------------------


def remember_stored_slug(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    """pre_save: the slug as stored, before this save overwrites it (one cheap query)."""
    instance.__dict__.pop("_slug_before_save", None)
    if raw or instance.pk is None or (update_fields is not None and "slug" not in update_fields):
        return
    stored = sender._base_manager.using(using).filter(pk=instance.pk).values_list("slug", flat=True).first()
    instance._slug_before_save = stored


def record_slug_change(sender, instance, created=False, raw=False, using=None, **kwargs):
    """post_save: a slug taken (by a new row or a rename) loses its old record; a slug left behind gets one."""
    from .models import OldSlug

    old = instance.__dict__.pop("_slug_before_save", None)
    if raw or not (created or (old and old != instance.slug)):
        return
    kind = ContentType.objects.db_manager(using).get_for_model(sender)
    records = OldSlug.objects.using(using)
    # The slug is an object's own now: it answers for that object, not as an old link.
    records.filter(content_type=kind, slug=instance.slug).delete()
    if old and old != instance.slug:
        records.update_or_create(content_type=kind, slug=old, defaults={"object_id": instance.pk})


def forget_old_slugs(sender, instance, using=None, **kwargs):
    """post_delete: the object's old slugs go with it."""
    from .models import OldSlug

    kind = ContentType.objects.db_manager(using).get_for_model(sender)
    OldSlug.objects.using(using).filter(content_type=kind, object_id=instance.pk).delete()


def connect_receivers():
    for model in tracked_models():
        name = model.__name__
        pre_save.connect(remember_stored_slug, sender=model, dispatch_uid=f"old-slugs-pre-{name}")
        post_save.connect(record_slug_change, sender=model, dispatch_uid=f"old-slugs-post-{name}")
        post_delete.connect(forget_old_slugs, sender=model, dispatch_uid=f"old-slugs-del-{name}")


# --- answering: the one lookup pages, feeds and the API share ---------------------


def current_slug(visible, slug):
    """The slug now of the object in ``visible`` (a queryset) that had ``slug``, or None."""
    from .models import OldSlug

    if not slug:
        return None
    kind = ContentType.objects.get_for_model(visible.model)
    moved = OldSlug.objects.filter(content_type=kind, slug=slug).values("object_id")
    return visible.filter(pk__in=moved).order_by().values_list("slug", flat=True).first()


def old_slug_redirect(request, visible, slug, staff=False):
    """
    The 301 from this request's URL to the same URL with the object's slug now, keeping
    the query string; None when ``slug`` is no old slug of an object in ``visible`` (the
    caller then answers its 404). ``request`` is Django's or DRF's; ``staff``: the viewer
    may see drafts (their answer is private).
    """
    if request.method not in ("GET", "HEAD"):
        return None
    match = request.resolver_match
    new = current_slug(visible, slug)
    if match is None or new is None or new == slug:
        return None
    url = reverse(match.view_name, kwargs={**match.captured_kwargs, "slug": new})
    query = request.META.get("QUERY_STRING", "")
    response = HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)
    if staff:
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
    else:
        patch_cache_control(response, public=True, max_age=REDIRECT_MAX_AGE)
    return response


def redirect_for(request, model, slug, user=None):
    """``old_slug_redirect`` with the rule every detail uses: what ``user`` may open."""
    user = user if user is not None else request.user
    staff = model.objects.previewable_by(user)
    return old_slug_redirect(request, model.objects.visible_to(user), slug, staff=staff)


class OldSlugRedirectMixin:
    """For the public DetailViews: where the page would be a 404, an old slug answers 301."""

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            # A preview link names its target by its slug now: it never needs a redirect.
            moved = None if getattr(self, "preview_link", None) else redirect_for(request, self.model, kwargs.get("slug"))
            if moved is None:
                raise
            return moved


def follow_old_slugs(view, visible):
    """
    Wrap a view taking ``slug`` (the lab's feeds): where it answers 404, an old slug of a
    row in ``visible(request)`` (the rows the view shows) answers 301.
    """

    def view_following_old_slugs(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            moved = old_slug_redirect(request, visible(request), kwargs.get("slug"))
            if moved is None:
                raise
            return moved

    return view_following_old_slugs


def published_labs(request):
    """The labs feeds and cards show, to everyone (staff too): published ones."""
    from .models import Lab

    return Lab.objects.published()


def published_releases(request):
    """The releases cards show, to everyone (staff too): published ones."""
    from .models import Release

    return Release.objects.published()
