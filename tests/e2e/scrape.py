#!/usr/bin/python3
"""Scrapes http://ADDRESS/metrics once and parses it with the Prometheus client library's own
parser (python3-prometheus-client): a format error fails (exit 1). As a program, prints one line per
sample, 'name{label=value,...} number', labels sorted; as a module (the e2e tests), scrape(ADDRESS)
returns the same as a dict."""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


class ScrapeError(Exception):
    pass


def scrape_text(address):
    """The text of one scrape of http://ADDRESS/metrics; raises ScrapeError when it is not the text
    exposition format."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    if not content_type.startswith("text/plain"):
        raise ScrapeError(f"Content-Type is {content_type!r}, not the text exposition format")
    return text


def parse(text):
    """[(name, {label: value}, value)] of a scrape's text; raises ScrapeError when it does not parse."""
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and friends on bad input
        raise ScrapeError(f"/metrics does not parse: {e}") from e
    return [(s.name, dict(s.labels), s.value) for family in families for s in family.samples]


def scrape(address):
    """{'name{label=value,...}': value} of one scrape; raises ScrapeError when it does not parse."""
    samples = {}
    for name, labels, value in parse(scrape_text(address)):
        flat = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        samples[f"{name}{{{flat}}}"] = value
    return samples


def main() -> int:
    try:
        samples = scrape(sys.argv[1])
    except ScrapeError as e:
        print(f"scrape: {e}", file=sys.stderr)
        return 1
    for name, value in samples.items():
        print(f"{name} {value:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
