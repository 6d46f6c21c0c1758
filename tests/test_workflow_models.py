"""The workflow rules on the models: versions, states and who may change them, history, preview links."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from profiles.models import EditConflict, Lab, PreviewLink, PublicationState, Release
from tests.factories import make_lab, make_release

pytestmark = pytest.mark.django_db


def member_of(group_name, username=None):
    user = User.objects.create_user(username or group_name.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return User.objects.get(pk=user.pk)  # fresh, so permission caches are empty


# --- optimistic locking ----------------------------------------------------------


def test_a_save_from_a_stale_copy_is_refused_and_the_first_save_survives():
    lab = make_lab("Versioned Lab", summary="original")
    first, second = Lab.objects.get(pk=lab.pk), Lab.objects.get(pk=lab.pk)
    first.summary = "first editor"
    first.save()
    second.summary = "second editor"
    with pytest.raises(EditConflict) as conflict:
        second.save()
    assert conflict.value.stored_version == first.version == lab.version + 1
    lab.refresh_from_db()
    assert lab.summary == "first editor"


def test_every_save_bumps_the_version():
    release = make_release()
    start = release.version
    release.sizes = "7B"
    release.save()
    release.save()
    assert Release.objects.get(pk=release.pk).version == start + 2


# --- states and permissions -----------------------------------------------------


def test_new_rows_start_as_drafts():
    assert Lab(name="New").state == PublicationState.DRAFT


def test_an_editor_moves_between_draft_and_review_but_cannot_publish():
    editor = member_of("Editor")
    lab = make_lab(state=PublicationState.DRAFT)
    lab = Lab.objects.get(pk=lab.pk)
    lab.transition(editor, PublicationState.REVIEW)
    assert Lab.objects.get(pk=lab.pk).state == PublicationState.REVIEW
    with pytest.raises(PermissionDenied, match="publishing needs the Publisher role"):
        lab.transition(editor, PublicationState.PUBLISHED)
    assert Lab.objects.get(pk=lab.pk).state == PublicationState.REVIEW


def test_an_editor_cannot_unpublish_or_archive():
    editor = member_of("Editor")
    lab = Lab.objects.get(pk=make_lab().pk)
    assert not lab.may_change_state(editor, PublicationState.DRAFT)
    assert not lab.may_change_state(editor, PublicationState.ARCHIVED)


def test_a_publisher_publishes_unpublishes_and_archives():
    publisher = member_of("Publisher")
    lab = Lab.objects.get(pk=make_lab(state=PublicationState.REVIEW).pk)
    lab.transition(publisher, PublicationState.PUBLISHED)
    assert lab.is_public and lab.published_at is not None
    lab.transition(publisher, PublicationState.DRAFT)
    assert not Lab.objects.published().filter(pk=lab.pk).exists()
    assert lab.published_at is None
    lab.transition(publisher, PublicationState.ARCHIVED)
    assert Lab.objects.get(pk=lab.pk).state == PublicationState.ARCHIVED


def test_scheduled_publishing_goes_live_by_time_alone():
    publisher = member_of("Publisher")
    go_live = timezone.now() + datetime.timedelta(hours=2)
    lab = Lab.objects.get(pk=make_lab(state=PublicationState.REVIEW).pk)
    lab.transition(publisher, PublicationState.PUBLISHED, go_live=go_live)
    assert not Lab.objects.published().filter(pk=lab.pk).exists()
    assert Lab.objects.scheduled().filter(pk=lab.pk).exists()
    later = go_live + datetime.timedelta(minutes=1)
    assert Lab.objects.published(now=later).filter(pk=lab.pk).exists()


def test_visible_to_staff_includes_drafts_but_not_for_anonymous():
    from django.contrib.auth.models import AnonymousUser

    make_lab("Public One")
    make_lab("Draft One", state=PublicationState.DRAFT)
    editor = member_of("Editor")
    assert set(Lab.objects.visible_to(editor).values_list("name", flat=True)) == {"Public One", "Draft One"}
    assert list(Lab.objects.visible_to(AnonymousUser()).values_list("name", flat=True)) == ["Public One"]


# --- history -----------------------------------------------------------------------


def test_history_records_every_change_with_old_and_new_values():
    lab = make_lab("Historic Lab", summary="before")
    lab = Lab.objects.get(pk=lab.pk)
    lab.summary = "after"
    lab.save()
    newest, previous = lab.history.all()[:2]
    delta = newest.diff_against(previous)
    changes = {change.field: (change.old, change.new) for change in delta.changes}
    assert changes["summary"] == ("before", "after")
    assert newest.history_type == "~" and previous.history_type == "+"


def test_a_deletion_is_recorded():
    lab = make_lab("Doomed Lab")
    pk = lab.pk
    lab.delete()
    assert Lab.history.filter(id=pk, history_type="-").exists()


# --- preview links ------------------------------------------------------------------


def test_a_preview_link_resolves_until_revoked():
    lab = make_lab(state=PublicationState.DRAFT)
    link = PreviewLink.objects.create(target=lab)
    assert PreviewLink.resolve(link.signed_token) == link
    assert link.expires_at > timezone.now() + datetime.timedelta(days=6)
    link.revoked_at = timezone.now()
    link.save()
    assert PreviewLink.resolve(link.signed_token) is None


def test_an_expired_or_tampered_preview_link_resolves_to_nothing():
    lab = make_lab(state=PublicationState.DRAFT)
    expired = PreviewLink.objects.create(target=lab, expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert PreviewLink.resolve(expired.signed_token) is None
    live = PreviewLink.objects.create(target=lab)
    assert PreviewLink.resolve(live.signed_token[:-2] + "xx") is None


# --- keeping profiles fresh ------------------------------------------------------------


def test_profiles_not_reviewed_recently_need_review(settings):
    settings.PROFILE_REVIEW_DAYS = 90
    today = timezone.localdate()
    make_lab("Fresh", last_reviewed=today - datetime.timedelta(days=10))
    make_lab("Stale", last_reviewed=today - datetime.timedelta(days=91))
    make_lab("Never")
    make_lab("Archived", state=PublicationState.ARCHIVED)
    assert set(Lab.objects.needing_review().values_list("name", flat=True)) == {"Stale", "Never"}
