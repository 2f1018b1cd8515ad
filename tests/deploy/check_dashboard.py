"""Checks the Grafana dashboard: valid JSON, unique panel ids, every panel
with a query, and every query accepted by Prometheus's own parser (promtool
check rules on a temporary rules file holding each expression, with
Grafana's $__rate_interval replaced by 5m), and every recording rule the
dashboard uses defined in the rules file.

  python3 check_dashboard.py dashboard.json rapport.rules.yml
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml


def main():
    dash = json.load(open(sys.argv[1]))
    rules = yaml.safe_load(open(sys.argv[2]))
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    errors = []
    ids = [p.get("id") for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        errors.append("panel ids are not unique")
    exprs = []
    for p in dash["panels"]:
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"panel {p.get('title')!r} has no query")
        for t in targets:
            exprs.append((p["title"], t["expr"]))
    for title, e in exprs:
        for name in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", e):
            if name not in recorded:
                errors.append(f"panel {title!r} uses {name}, which no recording rule defines")
    group = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": e.replace("$__rate_interval", "5m")}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(group, f)
    try:
        r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        if r.returncode != 0:
            errors.append("promtool rejects a dashboard query:\n" + r.stdout + r.stderr)
    finally:
        os.unlink(f.name)
    for e in errors:
        print(e)
    print(f"check_dashboard: {len(exprs)} queries in {len(dash['panels'])} panels, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
