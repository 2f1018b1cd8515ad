#!/usr/bin/python3
"""Validate tests/data/outreach_devset.jsonl and print its make-up.

Usage:  /usr/bin/python3 tests/data/check_devset.py [PATH] [--min-total N] [--min-per-label N]

Checks every line parses as a JSON object, required fields are present and
typed, label/channel (and the optional judgement_type/completeness) take
known values, ids and bodies are unique, and entries citing a seed file quote
it verbatim. Prints counts by label, channel, judgement type, completeness,
domain and source domain. Exits 1 on any problem, 0 otherwise.
Standard library only.
"""
import argparse
import collections
import json
import os
import re
import sys
import unicodedata
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PATH = os.path.join(HERE, "outreach_devset.jsonl")
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

REQUIRED = {
    # field: (allowed types, may be empty)
    "id": ((str,), False),
    "label": ((str,), False),
    "channel": ((str,), False),
    "subject": ((str, type(None)), True),
    "body": ((str,), False),
    "recipient": ((dict, type(None)), True),
    "source_url": ((str,), False),
    "source_title": ((str,), False),
    "judgement_quote": ((str,), False),
    "notes": ((str,), True),
}
OPTIONAL = {
    "judgement_type": {"recipient_verdict", "reported_outcome", "expert_critique",
                       "author_exemplar", "seed"},
    "completeness": {"full", "partial", "fragments"},
    "domain": None,  # free text
}
LABELS = {"good", "bad"}
CHANNELS = {"email", "linkedin", "call_opener"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_BODY_BYTES = 64 * 1024


def norm(text):
    """Normalise for duplicate detection and verbatim checks."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def source_key(url):
    if url.startswith("file:"):
        return "seeds (" + os.path.basename(url[5:]) + ")"
    host = urllib.parse.urlparse(url).netloc.lower()
    return host[4:] if host.startswith("www.") else host


def seed_path(url):
    rel = url[len("file:"):]
    candidates = [
        os.path.join(os.environ.get("RAPPORT_SHARED_PARENT", ""), rel),
        os.path.join(os.path.dirname(REPO_ROOT), rel),   # <root>/../shared/...
        os.path.join(REPO_ROOT, rel),
    ]
    for c in candidates:
        if c and os.path.isfile(c):
            return c
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=DEFAULT_PATH)
    ap.add_argument("--min-total", type=int, default=60)
    ap.add_argument("--min-per-label", type=int, default=20)
    args = ap.parse_args()

    problems = []
    warnings = []
    entries = []
    try:
        fh = open(args.path, encoding="utf-8")
    except OSError as e:
        print(f"error: cannot open {args.path}: {e}", file=sys.stderr)
        return 1
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                problems.append(f"line {lineno}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {lineno}: invalid JSON: {e}")
                continue
            if not isinstance(obj, dict):
                problems.append(f"line {lineno}: not a JSON object")
                continue
            entries.append((lineno, obj))

    seen_ids = {}
    seen_bodies = {}
    for lineno, e in entries:
        where = f"line {lineno} ({e.get('id', '?')})"
        for field, (types, may_be_empty) in REQUIRED.items():
            if field not in e:
                problems.append(f"{where}: missing field '{field}'")
                continue
            v = e[field]
            if not isinstance(v, types):
                problems.append(f"{where}: field '{field}' has type {type(v).__name__}")
                continue
            if not may_be_empty and isinstance(v, str) and not v.strip():
                problems.append(f"{where}: field '{field}' is empty")
        for field, allowed in OPTIONAL.items():
            if field in e and allowed is not None and e[field] not in allowed:
                problems.append(f"{where}: {field} '{e[field]}' not in {sorted(allowed)}")
        unknown = set(e) - set(REQUIRED) - set(OPTIONAL)
        if unknown:
            problems.append(f"{where}: unknown fields {sorted(unknown)}")

        if e.get("label") not in LABELS:
            problems.append(f"{where}: label '{e.get('label')}' not in {sorted(LABELS)}")
        if e.get("channel") not in CHANNELS:
            problems.append(f"{where}: channel '{e.get('channel')}' not in {sorted(CHANNELS)}")
        eid = e.get("id")
        if isinstance(eid, str):
            if not ID_RE.match(eid):
                problems.append(f"{where}: id must match {ID_RE.pattern}")
            if eid in seen_ids:
                problems.append(f"{where}: duplicate id (first on line {seen_ids[eid]})")
            seen_ids.setdefault(eid, lineno)
        body = e.get("body")
        if isinstance(body, str) and body.strip():
            if len(body.encode("utf-8")) > MAX_BODY_BYTES:
                problems.append(f"{where}: body over {MAX_BODY_BYTES} bytes")
            key = norm(body)
            if key in seen_bodies:
                problems.append(f"{where}: duplicate body (first on line {seen_bodies[key]})")
            seen_bodies.setdefault(key, lineno)
        rec = e.get("recipient")
        if isinstance(rec, dict):
            for k, v in rec.items():
                if not isinstance(v, (str, list)):
                    problems.append(f"{where}: recipient.{k} must be a string or list")
        url = e.get("source_url")
        if isinstance(url, str):
            if url.startswith("file:"):
                p = seed_path(url)
                if p is None:
                    warnings.append(f"{where}: seed file for {url} not found; verbatim check skipped")
                else:
                    text = norm(open(p, encoding="utf-8").read())
                    for field in ("body", "judgement_quote"):
                        if isinstance(e.get(field), str) and norm(e[field]) not in text:
                            problems.append(f"{where}: {field} is not verbatim in {url}")
            elif urllib.parse.urlparse(url).scheme not in ("http", "https"):
                problems.append(f"{where}: source_url must be http(s) or file:")

    objs = [e for _, e in entries]

    def show(title, counter):
        print(f"\n{title}:")
        for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            print(f"  {n:4d}  {k}")

    labels = collections.Counter(e.get("label") for e in objs)
    print(f"{args.path}: {len(objs)} entries")
    show("by label", labels)
    show("by channel", collections.Counter(e.get("channel") for e in objs))
    show("by judgement_type", collections.Counter(e.get("judgement_type", "(unset)") for e in objs))
    show("by completeness", collections.Counter(e.get("completeness", "(unset)") for e in objs))
    show("by domain", collections.Counter(e.get("domain", "(unset)") for e in objs))
    by_source = collections.Counter(
        source_key(e["source_url"]) for e in objs if isinstance(e.get("source_url"), str))
    per_label = collections.defaultdict(collections.Counter)
    for e in objs:
        if isinstance(e.get("source_url"), str):
            per_label[source_key(e["source_url"])][e.get("label")] += 1
    print(f"\nby source domain ({len(by_source)} distinct):")
    for k, n in sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0])):
        c = per_label[k]
        print(f"  {n:4d}  {k}  (good {c['good']}, bad {c['bad']})")
    non_seed = [e for e in objs if e.get("judgement_type") != "seed"]
    print(f"\nexcluding seed fragments: {len(non_seed)} entries, "
          f"{dict(collections.Counter(e.get('label') for e in non_seed))}")

    if len(objs) < args.min_total:
        problems.append(f"only {len(objs)} entries (< --min-total {args.min_total})")
    for lab in sorted(LABELS):
        if labels[lab] < args.min_per_label:
            problems.append(f"only {labels[lab]} '{lab}' entries (< --min-per-label {args.min_per_label})")

    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
