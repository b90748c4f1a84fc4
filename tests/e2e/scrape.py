#!/usr/bin/python3
"""Scrapes http://ADDRESS/metrics once and parses it with the Prometheus client library's own
parser (python3-prometheus-client): a format error fails (exit 1). Prints one line per sample,
'name{label=value,...} number', labels sorted, for the e2e script to read."""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    address = sys.argv[1]
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    if not content_type.startswith("text/plain"):
        print(f"scrape: Content-Type is {content_type!r}, not the text exposition format", file=sys.stderr)
        return 1
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and friends on bad input
        print(f"scrape: /metrics does not parse: {e}", file=sys.stderr)
        return 1
    for family in families:
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            print(f"{s.name}{{{labels}}} {s.value:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
