"""Find markup that would run script in a browser: the check every XSS test uses."""

from html.parser import HTMLParser

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=javascript:alert(1)></iframe>",
    '"><script>alert(1)</script>',
    "<body onload=alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
]


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        # A JSON data block never runs. svg, math and form are legitimate in our own
        # pages: what makes them dangerous is in their attributes, checked below.
        data_block = tag == "script" and dict(attrs).get("type") in {"application/ld+json", "application/json"}
        # The site's own scripts (static/js/, loaded by address: the CSP allows no other).
        own_script = tag == "script" and (dict(attrs).get("src") or "").startswith("/static/js/")
        if tag in {"script", "iframe", "object", "embed", "style", "base"} and not (data_block or own_script):
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and value:
                scheme = value.strip().lower().replace("\t", "").replace("\n", "")
                if scheme.startswith(("javascript:", "data:", "vbscript:")):
                    self.problems.append(f"{tag}[{name}={value}]")


def dangerous_markup(html):
    """The elements and attributes in ``html`` that could execute script (empty when safe)."""
    collector = _Collector()
    collector.feed(html)
    return collector.problems
