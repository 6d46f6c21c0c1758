"""
Follows in the admin: editors see how many people follow each lab and what was sent (counts,
failures); only Publishers see addresses (the view permission on followers, granted to
Publishers alone by migrations/0002).
"""

import datetime

from django.contrib import admin
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from profiles.models import Lab

from .models import Delivery, DeliveryStatus, Follower


def may_see_addresses(request):
    return request.user.has_perm("follows.view_follower")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records kept by the digest rounds: nobody edits them by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Follower)
class FollowerAdmin(admin.ModelAdmin):
    list_display = ["email", "rhythm", "everything", "followed_labs", "confirmed_at", "unsubscribed_at", "digest_since"]
    list_filter = ["rhythm", "everything", ("confirmed_at", admin.EmptyFieldListFilter), ("unsubscribed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at", "digest_since"]
    filter_horizontal = ["labs"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lab_count=Count("labs"))

    @admin.display(description="labs", ordering="lab_count")
    def followed_labs(self, follower):
        return "all" if follower.everything else follower.lab_count

    def has_add_permission(self, request):
        return False  # addresses come only through the double opt-in


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Digests sent, with above the list the followers of each lab and the sends of each day of the last week (counts only)."""

    list_display = ["created_at", "status", "changes_count"]
    list_filter = ["status"]
    list_select_related = ["follower"]
    date_hierarchy = "created_at"
    change_list_template = "admin/follows/delivery/change_list.html"

    def get_list_display(self, request):
        # The address only for those who may see followers (Publishers).
        return [*self.list_display, "follower", "error"] if may_see_addresses(request) else self.list_display

    def get_fields(self, request, obj=None):
        fields = ["created_at", "window_start", "status", "changes_count", "error"]
        return [*fields, "follower"] if may_see_addresses(request) else fields

    def changelist_view(self, request, extra_context=None):
        since = timezone.now() - datetime.timedelta(days=7)
        days = (
            Delivery.objects.filter(created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(
                sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
                failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
                sending=Count("pk", filter=Q(status=DeliveryStatus.SENDING)),
            )
            .order_by("-day")
        )
        confirmed = Q(followers__confirmed_at__isnull=False, followers__unsubscribed_at__isnull=True)
        labs = (
            Lab.objects.annotate(follower_count=Count("followers", filter=confirmed))
            .filter(follower_count__gt=0)
            .order_by("-follower_count", "name")
            .values("name", "follower_count")
        )
        extra_context = {
            **(extra_context or {}), "days": list(days), "labs": list(labs),
            "everything_count": Follower.objects.confirmed().filter(everything=True).count(),
        }
        return super().changelist_view(request, extra_context)
