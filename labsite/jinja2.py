"""
The Jinja2 environment of the public pages (``jinja2/``); the admin and the e-mails stay on
Django templates (``templates/``).

Jinja2 compiles a template to Python, so a loop over a lab's releases costs what the loop
costs, where Django's engine resolves every variable through its lookup rules: the lab page
and the lab index spent half their time there (docs/performance.md). The names below are
all a public template may call beyond Jinja2's own: Django's URLs, static files and date
formats, and the site's helpers from ``profiles.templatetags`` (plain functions, called
here as they were from the Django templates before the move).
"""

from types import SimpleNamespace

from django.template.defaultfilters import capfirst, date, pluralize, stringformat, urlencode
from django.template.defaulttags import querystring as django_querystring
from django.templatetags.static import static
from django.urls import reverse
from django.utils.timezone import template_localtime
from jinja2 import Environment, pass_context

from profiles.speed import country_name
from profiles.templatetags import profiles_tags, structured_data


def url(name, *args, **kwargs):
    """``{% url %}``: ``url("profiles:lab-detail", slug=lab.slug)``."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def local_date(value, format_string=None):
    """Django's ``date`` filter, in the site's time zone as Django's templates show dates."""
    return date(template_localtime(value), format_string)


@pass_context
def json_ld(context, obj):
    """The schema.org ``<script>`` of a lab, person or release (absolute URLs from the request)."""
    return structured_data.json_ld({"request": context["request"]}, obj)


@pass_context
def querystring(context, query_dict=None, **kwargs):
    """
    ``{% querystring %}``: the request's GET parameters with ``kwargs`` set (``None`` removes
    one), as "?a=1&page=2": ``querystring(page=page_obj.next_page_number())``.
    """
    return django_querystring(SimpleNamespace(request=context["request"]), query_dict, **kwargs)


def environment(**options):
    env = Environment(**options)
    env.globals.update(
        url=url,
        static=static,
        json_ld=json_ld,
        querystring=querystring,
        partial_time=profiles_tags.partial_time,
        country_name=country_name,
        cite_marks=profiles_tags.cite_marks,
        data_credits=profiles_tags.data_credits,
        release_facts=profiles_tags.release_facts,
    )
    env.filters.update(
        date=local_date,
        pluralize=pluralize,
        capfirst=capfirst,
        stringformat=stringformat,
        urlencode=urlencode,
        grouped_by_kind=profiles_tags.grouped_by_kind,
        short_number=profiles_tags.short_number,
        scientific=profiles_tags.scientific,
        flop=profiles_tags.flop,
        iso_datetime=profiles_tags.iso_datetime,
    )
    return env
