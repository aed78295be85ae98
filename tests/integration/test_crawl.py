"""Issue 17 point 5: every link the platform offers answers without a server error. For each role
(one fixture user per role kind), sign in and follow the same-site links of every page reached,
breadth first: at most MAX_PAGES pages per role and PER_SHAPE pages of one shape (the same path
with other ids and the same query keys), skipping links that end the session or switch the
language. Any 5xx fails, with the page that offered the link."""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest

from tests.factories import USERS, seed_plans

MAX_PAGES = 200
PER_SHAPE = 2
SKIP = re.compile(r"/logout|/lang/|/static/|/delete/|/action/|/action_post")
ONE_PER_ROLE = list(dict.fromkeys({kind: key for key, kind, _o, _n in USERS}.values()))


def shape(url: str) -> str:
    """The path with ids as N and the query's keys; a sort link keeps its column (each column
    of a table is its own way to fail)."""
    parts = urlsplit(url)
    keys = sorted(
        {
            f"{k}={v}" if k.startswith("_oc_") else k
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        }
    )
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


class _Links(HTMLParser):
    """Every <a href>, quoted or not (FAB writes its sort links as ``<a href=/x?_oc_...>``)."""

    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def same_site_links(html: str, base: str):
    parser = _Links()
    parser.feed(html)
    for raw in parser.hrefs:
        href = raw.split("#", 1)[0].strip()
        if not href:
            continue
        if href.startswith(("javascript:", "mailto:", "tel:", "data:")):
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
            continue
        query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
        yield parts.path + (f"?{query}" if query else "")


@pytest.mark.parametrize("who", ONE_PER_ROLE)
def test_point5_every_link_a_role_is_offered_answers_without_a_server_error(
    client, login, world, who
):
    seed_plans(world)  # plan pages with their lines table (the sort links of issue 17)
    assert login(who).status_code == 302
    queue = deque([("/", "(start)")])
    seen_urls, shapes, failures = set(), {}, []
    visited = 0
    while queue and visited < MAX_PAGES:
        url, came_from = queue.popleft()
        if url in seen_urls or SKIP.search(url):
            continue
        seen_urls.add(url)
        key = shape(url)
        if shapes.get(key, 0) >= PER_SHAPE:
            continue
        shapes[key] = shapes.get(key, 0) + 1
        visited += 1
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {url} (linked from {came_from})")
            continue
        if response.status_code == 200 and response.mimetype == "text/html":
            for link in same_site_links(response.get_data(as_text=True), url):
                if link not in seen_urls:
                    queue.append((link, url))
    assert visited >= 3, f"the crawl as {who} reached almost nothing: {sorted(seen_urls)}"
    assert not failures, "\n".join(failures)
