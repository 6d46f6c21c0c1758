"""
Page weights and screenshots of the public pages, as Chromium loads them.

    python bench/page_weights.py [BASE_URL] [--screenshots DIR]

For each page type: the requests made, the bytes of each kind of resource (HTML, CSS,
fonts, scripts, images) as served and as gzip would send them, at 1280 px. With
--screenshots, a PNG per page at 1280 and 390 px, light and dark, into DIR (the ones in
docs/screenshots/ were taken so). Against a server with the starting data (make run).
"""

import argparse
import gzip
import sys
from collections import defaultdict

from playwright.sync_api import sync_playwright

PAGES = {
    "home": "/",
    "lab-index": "/labs/",
    "lab": "/labs/shanghai-ai-laboratory/",
    "lab-changes": "/labs/shanghai-ai-laboratory/changes/",
    "release-list": "/releases/",
    "release": "/releases/internlm2-5/",
    "people": "/people/",
    "person": "/people/yu-qiao/",
    "search": "/search/?q=InternLM",
    "compare": "/compare/?labs=shanghai-ai-laboratory,baai",
    "changes": "/changes/",
    "api": "/api/",
}
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def kind_of(response):
    content_type = response.headers.get("content-type", "")
    for needle, kind in (("html", "html"), ("css", "css"), ("font", "fonts"), ("javascript", "js"), ("image", "images")):
        if needle in content_type:
            return kind
    return "other"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--screenshots", metavar="DIR")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        print(f"{'page':14} {'requests':>8} {'html':>14} {'css':>14} {'fonts':>8} {'js':>6} {'images':>8} {'total':>16}")
        for name, path in PAGES.items():
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sizes = defaultdict(lambda: [0, 0])
            responses = []
            page.on("response", lambda response: responses.append(response))
            page.goto(args.base + path, wait_until="networkidle")
            for response in responses:
                try:
                    body = response.body()
                except Exception:  # a redirect has no body
                    continue
                raw, packed = len(body), len(gzip.compress(body, 6))
                kind = kind_of(response)
                # Fonts and images are compressed already: gzip would not be applied.
                sizes[kind][0] += raw
                sizes[kind][1] += packed if kind in ("html", "css", "js") else raw
            total = [sum(v[0] for v in sizes.values()), sum(v[1] for v in sizes.values())]

            def kb(pair, both=True):
                return f"{pair[0] / 1024:.0f}/{pair[1] / 1024:.0f} KB" if both else f"{pair[1] / 1024:.0f} KB"

            print(f"{name:14} {len(responses):>8} {kb(sizes['html']):>14} {kb(sizes['css']):>14} "
                  f"{kb(sizes['fonts'], False):>8} {kb(sizes['js'], False):>6} {kb(sizes['images'], False):>8} {kb(total):>16}")
            page.close()
            if args.screenshots:
                for scheme in ("light", "dark"):
                    for width, height in ((1280, 900), (390, 844)):
                        shot = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
                        shot.goto(args.base + path, wait_until="networkidle")
                        shot.screenshot(path=f"{args.screenshots}/{name}-{width}-{scheme}.png")
                        shot.close()
        browser.close()
    print("(raw/gzipped; fonts and images as sent)", file=sys.stderr)


if __name__ == "__main__":
    main()
