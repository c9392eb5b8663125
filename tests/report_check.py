#!/usr/bin/env python3
"""Checks a report page (or an SVG figure) for tests/test_report.c: it is
well-formed XML (a strict parser), and it refers to nothing outside itself:
every src= and href= is a data: URI or a #fragment, no <script src>, no
<link>, no @import, every url( is url(#...) or url(data:...), no http(s)
address but the XML namespaces. Prints "ok" or the first problem and exits 1.

usage: report_check.py FILE..."""
import re
import sys
import xml.etree.ElementTree as ET

NAMESPACES = ("http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg")


def check(path):
    text = open(path, encoding="utf-8").read()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return "not well-formed: %s" % e
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in ("link", "iframe", "object", "embed"):
            return "a <%s> element" % tag
        if tag == "script" and any(k.endswith("src") for k in el.attrib):
            return "a script with src"
        for k, v in el.attrib.items():
            name = k.split("}")[-1]
            if name in ("src", "href") and not (v.startswith("data:") or
                                                v.startswith("#")):
                return "%s=%r in <%s>" % (name, v[:80], tag)
    if "@import" in text:
        return "@import"
    for m in re.finditer(r"url\(\s*['\"]?([^)'\"]*)", text):
        if not (m.group(1).startswith("#") or m.group(1).startswith("data:")):
            return "url(%s)" % m.group(1)[:80]
    for m in re.finditer(r"https?://[^\"' )]*", text):
        if m.group(0) not in NAMESPACES:
            return "an address %s" % m.group(0)
    return None


status = 0
for p in sys.argv[1:]:
    problem = check(p)
    if problem:
        print("%s: %s" % (p, problem))
        status = 1
if not status:
    print("ok")
sys.exit(status)
