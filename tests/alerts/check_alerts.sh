#!/usr/bin/env bash
# The shipped alert rules (configs/ringwatch-alerts.yml): `promtool check rules` clean, and
# `promtool test rules` on ringwatch-alerts.test.yml (each alert silent on a healthy ring and firing
# on its fault). promtool is Debian's prometheus package (bash .ci/install-deps --tests).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v promtool > /dev/null || { echo "check_alerts: 'promtool' not found (bash .ci/install-deps --tests installs it)" >&2; exit 1; }
promtool check rules "$here/../../configs/ringwatch-alerts.yml"
cd "$here" && promtool test rules ringwatch-alerts.test.yml

# The shipped Grafana dashboard: valid JSON whose every query parses as PromQL (checked as the
# expressions of recording rules, with the dashboard's $job variable given a value).
command -v jq > /dev/null || { echo "check_alerts: 'jq' not found (bash .ci/install-deps --tests installs it)" >&2; exit 1; }
dashboard="$here/../../configs/ringwatch-grafana.json"
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
jq -e '.panels | length > 0' "$dashboard" > /dev/null
{
  echo "groups: [{name: grafana, rules: ["
  jq -r '[.panels[].targets[].expr] | to_entries[] | "  {record: \"dashboard:query_\(.key)\", expr: \(.value | gsub("\\$job"; "ringwatch") | tojson)},"' "$dashboard"
  echo "]}]"
} > "$work/dashboard-queries.yml"
promtool check rules "$work/dashboard-queries.yml"
