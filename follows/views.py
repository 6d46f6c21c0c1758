"""
Readers' pages for following labs: ask (a lab's or everything), confirm, manage, unsubscribe.

Nothing here sends mail: a request only records what was asked and enqueues the email
(follows/tasks.py). The pages behind signed links are private (no cache, no index).
"""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.throttling import SimpleRateThrottle

from profiles.api.throttling import WindowCountMixin
from profiles.models import Lab

from .forms import FollowForm, ManageForm
from .models import Follower
from .tasks import send_confirmation


def private(response):
    """A page behind a signed link: no shared cache may keep it, no search engine index it."""
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response


def message_page(request, title, text, status=200, link=None):
    context = {"title": title, "text": text, "link": link}
    return private(TemplateResponse(request, "follows/message.html", context, status=status))


class FollowRequestThrottle(WindowCountMixin, SimpleRateThrottle):
    """
    Follow requests per client (FOLLOWS_REQUESTS_PER_HOUR an hour): the API's window count
    (profiles/api/throttling.py), its rate read from settings at request time.
    """

    scope = "follow"

    def get_rate(self):
        return f"{settings.FOLLOWS_REQUESTS_PER_HOUR}/hour"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# The lab pages and /changes/ that carry the form are cached whole for every reader, so
# the form cannot carry a per-visitor CSRF token. A forged request can do no more than ask
# for a confirmation email, which is rate-limited per address and per client, and starts
# nothing until its link is used.
@method_decorator(csrf_exempt, name="dispatch")
class FollowView(View):
    """Follow every lab: GET shows the form, POST asks for a confirmation email."""

    template_name = "follows/follow.html"
    lab = None

    def render(self, form, status=200):
        return TemplateResponse(self.request, self.template_name, {"form": form, "lab": self.lab}, status=status)

    def get(self, request, *args, **kwargs):
        return self.render(FollowForm())

    def post(self, request, *args, **kwargs):
        if not FollowRequestThrottle().allow_request(request, self):
            return message_page(
                request, "Too many requests",
                "This connection asked to follow too many times in the last hour. Try again later.", status=429,
            )
        form = FollowForm(request.POST)
        if not form.is_valid():
            return self.render(form, status=400)
        lab, rhythm = self.lab, form.cleaned_data["rhythm"]
        follower, mail = Follower.ask(form.cleaned_data["email"], lab, rhythm)  # committed
        if mail:
            send_confirmation.enqueue(follower.pk, lab.pk if lab else None, rhythm)
        # The same answer whether or not a mail went: the page tells nobody whether an address follows.
        return private(TemplateResponse(request, "follows/asked.html", {"lab": lab, "email": form.cleaned_data["email"]}))


@method_decorator(csrf_exempt, name="dispatch")  # as FollowView (its dispatch is overridden here)
class FollowLabView(FollowView):
    """Follow one published lab."""

    @cached_property
    def lab(self):
        return get_object_or_404(Lab.objects.published(), slug=self.kwargs["slug"])

    def dispatch(self, request, *args, **kwargs):
        self.lab  # 404 before anything else for a lab readers may not see
        return super().dispatch(request, *args, **kwargs)


INVALID_LINK = (
    "Link no longer valid",
    "This link has expired, was already used, or is incomplete. Ask to follow again from any lab's page.",
)


class ConfirmView(View):
    """The confirmation link: GET asks to confirm (mail scanners open links), POST confirms."""

    def get(self, request, token):
        confirmation = Follower.read_confirmation(token)
        if confirmation is None:
            return message_page(request, *INVALID_LINK, status=410)
        follower, lab, rhythm = confirmation
        context = {"follower": follower, "lab": lab, "rhythm": rhythm}
        return private(TemplateResponse(request, "follows/confirm.html", context))

    def post(self, request, token):
        confirmation = Follower.read_confirmation(token)
        if confirmation is None:
            return message_page(request, *INVALID_LINK, status=410)
        follower, lab, rhythm = confirmation
        follower.confirm(lab, rhythm)
        return message_page(
            request, "You're following " + (lab.name if lab else "every lab"),
            "Digests of published changes will come to this address. Each one has a link to change or end your follows.",
            link=(follower.get_absolute_url(), "Manage your follows"),
        )


class FollowerLinkMixin:
    """Views behind a follower's signed manage link."""

    def dispatch(self, request, *args, **kwargs):
        self.follower = Follower.from_manage_token(kwargs["token"])
        if self.follower is None:
            return message_page(request, *INVALID_LINK, status=410)
        return super().dispatch(request, *args, **kwargs)


class ManageView(FollowerLinkMixin, View):
    """A follower's follows: the rhythm, the labs, following everything; and a way out."""

    def render(self, form, saved=False, status=200):
        context = {"follower": self.follower, "form": form, "saved": saved}
        return private(TemplateResponse(self.request, "follows/manage.html", context, status=status))

    def get(self, request, token):
        follower = self.follower
        initial = {"rhythm": follower.rhythm, "everything": follower.everything, "labs": list(follower.labs.published())}
        return self.render(ManageForm(initial=initial, follower=follower))

    def post(self, request, token):
        form = ManageForm(request.POST, follower=self.follower)
        if not form.is_valid():
            return self.render(form, status=400)
        self.follower.change(form.cleaned_data["rhythm"], form.cleaned_data["everything"], form.cleaned_data["labs"])
        return self.render(ManageForm(initial=form.cleaned_data, follower=self.follower), saved=True)


# Mail clients send the RFC 8058 one-click POST without cookies or a token of ours: the
# signed link is the proof.
@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(FollowerLinkMixin, View):
    """GET asks (link scanners open links); POST, the one-click of RFC 8058 too, ends every follow."""

    def get(self, request, token):
        return private(TemplateResponse(request, "follows/unsubscribe.html", {"follower": self.follower}))

    def post(self, request, token):
        self.follower.unsubscribe()
        return message_page(
            request, "Unsubscribed", "Nothing more will be sent to this address. You can follow labs again at any time.",
        )
