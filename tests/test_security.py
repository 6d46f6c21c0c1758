"""Security: check --deploy, headers (CSP, HSTS, nosniff, referrer), cookies, login lock-out, URL schemes."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import make_lab, make_release

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "labs.example.org",
    "SITE_URL": "https://labs.example.org",
}


def run_manage(*args, env=None):
    # Not inherited: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process.
    unwanted = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {key: value for key, value in os.environ.items() if key not in unwanted}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, check=False, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production_mode():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env={"DEBUG": "0", "ALLOWED_HOSTS": "labs.example.org"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_make_cookies_secure_and_http_only():
    code = (
        "import django, json; from django.conf import settings; django.setup(); print(json.dumps({k: getattr(settings, k) "
        "for k in ['SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', "
        "'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', 'SECURE_CONTENT_TYPE_NOSNIFF', 'SECURE_REFERRER_POLICY', 'DEBUG']}))"
    )
    environment = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "labsite.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import json

    values = json.loads(result.stdout)
    assert values == {
        "SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": True, "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True, "SECURE_HSTS_SECONDS": 31536000, "SECURE_SSL_REDIRECT": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True, "SECURE_REFERRER_POLICY": "same-origin", "DEBUG": False,
    }


@pytest.fixture
def production(settings):
    """The production security settings, in this process (the suite itself runs with DEBUG off)."""
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    return settings


def assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if " " in part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/admin/login/", "/api/", "/api/labs/", "/healthz"])
def test_security_headers_on_pages_the_admin_and_the_api(client, production, path):
    make_release(lab=make_lab("Header Lab", slug="header-lab"))
    response = client.get(path, secure=True)
    assert response.status_code == 200, path
    assert_security_headers(response)


@pytest.mark.django_db
def test_the_browsable_api_and_admin_use_no_inline_script(client, admin_client, production):
    make_lab("Script Lab", slug="script-lab")
    for browser, path in [(client, "/api/labs/"), (client, "/api/labs/script-lab/"), (admin_client, reverse("admin:index"))]:
        response = browser.get(path, HTTP_ACCEPT="text/html", secure=True)
        assert response.status_code == 200
        html = response.content.decode()
        # Every <script> is external or data (type="application/json"), so the policy allows it.
        for chunk in html.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            assert "src=" in tag or "application/json" in tag, (path, tag)


@pytest.mark.django_db
def test_swagger_ui_is_the_one_documented_csp_exception(client, production):
    response = client.get("/api/docs/", secure=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in csp and "style-src 'self' 'unsafe-inline'" in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp


@pytest.mark.django_db
def test_a_permissions_policy_on_every_response(client):
    make_lab("Policy Lab", slug="policy-lab")
    paths = ["/", "/labs/", "/labs/policy-lab/", "/no-such-page/", "/admin/login/", "/api/", "/api/labs/",
             "/api/labs/?format=csv", "/api/no-such-endpoint/", "/api/docs/", "/healthz"]
    responses = [client.get(path) for path in paths] + [client.post("/api/labs/", {})]  # and a 401
    for response in responses:
        policy = dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
            assert policy[feature] == "()", (response.request["PATH_INFO"], feature)


@pytest.mark.django_db
def test_an_admin_login_whose_next_is_refused_lands_on_the_admin_index(client):
    get_user_model().objects.create_superuser("editor", "editor@example.org", "a long pass phrase 42")
    off_site = "https://evil.example.org/admin/"
    response = client.post(
        f"/admin/login/?next={off_site}", {"username": "editor", "password": "a long pass phrase 42", "next": off_site}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_http_only(client, production):
    User = get_user_model()
    User.objects.create_superuser("editor", "editor@example.org", "a long pass phrase 42")
    login_page = client.get("/admin/login/", secure=True)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "editor", "password": "a long pass phrase 42", "csrfmiddlewaretoken": csrf.value},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]


# --------------------------------------------------------------------------
# Admin login lock-out (django-axes)
# --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def post_login(client, username, password, address="203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_admin_login_locks_out_a_user_and_address_after_too_many_failures(client, settings):
    User = get_user_model()
    User.objects.create_superuser("editor", "editor@example.org", "a long pass phrase 42")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = post_login(client, "editor", "wrong")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    response = post_login(client, "editor", "wrong")
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed login attempts" in text and "editor" in text and "locked" in text
    # Locked: even the right password is refused from that address for that user.
    response = post_login(client, "editor", "a long pass phrase 42")
    assert response.status_code == 429
    # Another address may still log in as that user; the address still may for another user.
    assert post_login(client, "editor", "a long pass phrase 42", address="198.51.100.2").status_code == 302
    User.objects.create_superuser("other", "other@example.org", "another long pass phrase 7")
    client.logout()
    assert post_login(client, "other", "another long pass phrase 7").status_code == 302


@pytest.mark.django_db
def test_a_successful_login_resets_the_failure_count(client, settings):
    User = get_user_model()
    User.objects.create_superuser("editor", "editor@example.org", "a long pass phrase 42")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        post_login(client, "editor", "wrong")
    assert post_login(client, "editor", "a long pass phrase 42").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, "editor", "wrong").status_code == 200


def production_setting(name):
    """A setting as production mode (DEBUG=0) computes it when the environment leaves it unset."""
    code = f"import django; from django.conf import settings; django.setup(); print(settings.{name})"
    environment = {key: value for key, value in os.environ.items() if key != name}
    environment.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="labsite.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.django_db
def test_behind_the_proxy_failures_lock_out_their_sender_not_the_editor(client, settings):
    # `make serve` runs behind one proxy (README, Production): REMOTE_ADDR is the proxy's, and
    # the proxy appends the address it saw to X-Forwarded-For.
    settings.TRUSTED_PROXY_COUNT = int(production_setting("TRUSTED_PROXY_COUNT"))
    get_user_model().objects.create_superuser("editor", "editor@example.org", "a long pass phrase 42")

    def via_proxy(password, forwarded_for):
        return client.post(
            "/admin/login/?next=/admin/", {"username": "editor", "password": password},
            REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    # The attacker varies what it writes itself; the proxy's entry (the last) is its real address.
    failures = [via_proxy("wrong", f"198.51.100.{n}, 203.0.113.7") for n in range(settings.AXES_FAILURE_LIMIT)]
    assert failures[-1].status_code == 429
    assert via_proxy("a long pass phrase 42", "203.0.113.7").status_code == 429
    # The editor, from another address, still signs in; the attacker's address stays locked.
    assert via_proxy("a long pass phrase 42", "192.0.2.44").status_code == 302
    client.logout()
    assert via_proxy("a long pass phrase 42", "198.51.100.1, 203.0.113.7").status_code == 429


@pytest.mark.django_db
def test_test_logins_still_work_with_axes(client, admin_user):
    assert client.login(username=admin_user.username, password="password")
    assert client.get("/admin/").status_code == 200
    client.logout()
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


# --------------------------------------------------------------------------
# URLs: http and https only
# --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["ftp://example.org/file", "javascript:alert(1)", "ftps://example.org/", "data:text/html,x"])
def test_url_fields_refuse_other_schemes(url):
    lab = make_lab("Scheme Lab", slug="scheme-lab")
    lab.website = url
    with pytest.raises(ValidationError) as error:
        lab.full_clean()
    assert "website" in error.value.message_dict
    release = make_release(lab=lab)
    release.url = url
    with pytest.raises(ValidationError):
        release.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://example.org/", "https://example.org/path?q=1"])
def test_url_fields_accept_http_and_https(url):
    lab = make_lab("Scheme Lab", slug="scheme-lab", website=url)
    assert lab.website == url
