#!/usr/bin/env python3
"""test_ops — the operator commands on a running local tree (issue 4).

Tree: national VN, province 11, district 095 (Mường Lay) and its three
communes 03148, 03151, 03184 (six real tiersyncd processes).  Two
communes report for 2026 (before its deadline: "reported") and 2025
(after its deadline: "late"); 03184 never reports ("missing").

Proves, with real values and --json parsed by json:
- status: unit, link up, last ACK age, outbox depth and oldest age,
  children expected/seen, topology and catalogue fields;
- children: per child seq/hash equal to what `log --json` shows, periods
  held, state reported/late/missing per period;
- outbox: entries wait while the parent is down (origin, seq, period,
  age, size), then drain; metrics shows the depth and link state;
- tree: the subtree with its states;
- log: chain and signatures ok for every envelope;
- metrics: Prometheus text (parsed) matches --json and what was sent,
  and the counters survive a daemon restart (persisted in the store);
- export: csv rows = report values (Vietnamese names intact), dhis2 has
  the dataValueSets shape and the DHIS2 period format, adx is well-formed
  XML in urn:ihe:qrph:adx:2015 (xmllint), html renders in headless
  Chromium with no console errors and has one chart per indicator;
- --help works for every command and bad arguments name the argument.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import tierctl, tierctl_raw, wait_until  # noqa: E402

R = tslib.Runner("test_ops")
T = None
C1, C2, C3 = "03148", "03151", "03184"
VALS = {  # (commune, period) -> [(ind, num, den, dis)]
    (C1, "2026"): [("9", 47, 52, ""), ("9", 20, 25, "sex=f"), ("14", 12, None, "")],
    (C2, "2026"): [("9", 30, 40, ""), ("9", 15, 19, "sex=f")],
    (C1, "2025"): [("9", 5, 6, "")],
    (C2, "2025"): [("9", 7, 8, "")],
    (C1, "2025-07"): [("14", 3, None, "")],
}


def expected_sum(period):
    out = {}
    for (c, p), vs in VALS.items():
        if p != period:
            continue
        for ind, n, d, dis in vs:
            a, b = out.get((ind, dis), (0, 0))
            out[(ind, dis)] = (a + n, b + (d or 0))
    return out


def setup():
    global T
    T = tslib.Tree("095", name="ops")
    T.start()
    for (c, p), vs in VALS.items():
        for ind, n, d, dis in vs:
            T.put(c, p, ind, n, d, dis or None)
    # Every level's report must have landed at national, not only the
    # district's: the province emits its own a debounce later, and the
    # tree/children checks below read national's view of all of them.
    for p in ("2026", "2025", "2025-07"):
        T.wait_values("095", p, expected_sum(p))
        for unit in ("095", "11", "VN"):
            T.wait_values("VN", p, expected_sum(p), unit=unit)


def test_status():
    # the parent has stored 095's reports; its ACK may still be on the way
    s = wait_until(lambda: (lambda d: d if d["outbox"] == 0 else None)(tierctl(T.d("095"), "status")), 30,
                   "095's outbox drained")
    R.eq((s["unit"], s["level"], s["link"]), ("095", "district", "up"), "status: unit, level, link up")
    R.eq((s["children_expected"], s["children_seen"], s["children_missing"]), (3, 2, [C3]),
         "status: children expected/seen/missing")
    R.check(s["last_ack_ms"] > 0 and s["last_ack_age_ms"] is not None and s["last_ack_age_ms"] < 120000,
            "status: last ACK recorded with its age (%r)" % s["last_ack_age_ms"])
    R.eq((s["outbox"], s["outbox_oldest_age_ms"]), (0, None), "status: outbox empty, no oldest age")
    R.eq(s["topology"], T.topo_version, "status: topology version")
    R.check("catalogue" in s and isinstance(s["catalogue"], str), "status: catalogue field present")
    text = tierctl(T.d("095"), "status", json=False)
    R.check(re.search(r"^catalogue\s+\S+", text, re.M) and re.search(r"^last ack\s+\S+ ago", text, re.M)
            and re.search(r"^children\s+2 of 3 seen; never heard from: 03184", text, re.M),
            "status (human): catalogue, last ack age, children lines")


def test_children():
    for period, want in (("2026", {C1: "reported", C2: "reported", C3: "missing"}),
                         ("2025", {C1: "late", C2: "late", C3: "missing"})):
        d = tierctl(T.d("095"), "children", "--period", period)
        got = {k["code"]: k["state"] for k in d["children"]}
        R.eq(got, want, "children --period %s: states" % period)
        kid = {k["code"]: k for k in d["children"]}
        R.eq(kid[C3]["overdue"], period == "2025", "children %s: missing child overdue iff deadline passed" % period)
    d = tierctl(T.d("095"), "children")
    kid = {k["code"]: k for k in d["children"]}
    for c in (C1, C2):
        log = tierctl(T.d("095"), "log", c)
        newest = log["envelopes"][-1]
        R.eq((kid[c]["seq"], kid[c]["hash"]), (newest["seq"], newest["hash"]),
             "children: %s seq/hash = newest in log" % c)
        R.eq(sorted(kid[c]["periods"]), sorted(p for (cc, p) in VALS if cc == c),
             "children: %s periods held" % c)
        R.check(kid[c]["last_seen_age_ms"] is not None and kid[c]["lag_ms"] is not None,
                "children: %s last seen and lag" % c)
    R.eq((kid[C3]["seen"], kid[C3]["seq"], kid[C3]["hash"]), (False, 0, None), "children: 03184 never seen")
    text = tierctl(T.d("095"), "children", "--period", "2025", json=False)
    R.check(re.search(r"^03184\s+Xã Lay Nưa\s+MISSING", text, re.M) and
            re.search(r"^03148\s+Phường Sông Đà\s+LATE", text, re.M),
            "children (human): aligned rows with Vietnamese names and states")


def test_tree():
    d = tierctl(T.d("VN"), "tree", "2026", "--unit", "095")
    got = {u["code"]: u["state"] for u in d["units"]}
    R.eq(got, {"095": "reported", C1: "reported", C2: "reported", C3: "missing"}, "tree 2026 --unit 095 states")
    R.eq((d["reported"], d["late"], d["missing"]), (3, 0, 1), "tree 2026 counts")
    R.eq([u["depth"] for u in d["units"]], [0, 1, 1, 1], "tree: depths")
    d = tierctl(T.d("VN"), "tree", "2025", "--unit", "11", "--depth", "1")
    R.eq([(u["code"], u["state"]) for u in d["units"]][:1], [("11", "late")], "tree 2025 --unit 11: late")
    text = tierctl(T.d("VN"), "tree", "2026", "--unit", "095", json=False)
    R.check("└── 03184" in text and "├── 03148" in text and ("MISSING" in text or "due" in text),
            "tree (human) draws branches")


def test_log():
    d = tierctl(T.d("VN"), "log", C1)
    R.check(d["count"] >= 2 and d["problems"] == 0 and all(e["sig_ok"] and e["chain_ok"] for e in d["envelopes"]),
            "log 03148 at VN: %d envelopes, chain and signatures ok" % d["count"])
    for _, _, env in tslib.log_envelopes(d):
        body, sig = tslib.split_env(env)
        R.check(tslib.verify_sig(body, sig, T.keys[C1][0]), "log env_hex verifies with nacl")
        break


def parse_prom(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-z_]+)\{([^}]*)\} (\S+)', line)
        if not m:
            raise tslib.TestFailure("bad exposition line %r" % line)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        out[(m.group(1), labels.get("reason"))] = float(m.group(3))
    return out


def test_metrics():
    text = tierctl(T.d("095"), "metrics", json=False)
    R.check(re.search(r"^# TYPE tiersync_envelopes_received_total counter$", text, re.M),
            "metrics: TYPE lines")
    m = parse_prom(text)
    j = tierctl(T.d("095"), "metrics")
    R.eq(m[("tiersync_envelopes_stored_total", None)], j["n_stored"], "metrics text = json (stored)")
    stored = len(tierctl(T.d("095"), "log", C1)["envelopes"]) + len(tierctl(T.d("095"), "log", C2)["envelopes"])
    R.eq(j["n_stored"], stored, "metrics: stored = envelopes held from the children (%d)" % stored)
    R.eq(j["n_relayed"], stored, "metrics: relayed = stored (district has a parent)")
    R.check(j["n_received"] >= stored, "metrics: received >= stored")
    R.eq(m[("tiersync_envelopes_refused_total", "sig")], 0, "metrics: refused{reason=sig} present, 0")
    R.eq(m[("tiersync_link_up", None)], 1, "metrics: link up")
    R.check(("tiersync_last_ack_age_seconds", None) in m, "metrics: last ACK age gauge")
    R.check(j["n_acked"] >= 1, "metrics: parent ACKs counted (%d)" % j["n_acked"])
    T.restart("095")
    j2 = tierctl(T.d("095"), "metrics")
    R.eq((j2["n_stored"], j2["n_relayed"]), (j["n_stored"], j["n_relayed"]), "metrics survive a restart (persisted)")


def test_outbox():
    T.stop("095")
    wait_until(lambda: tierctl(T.d(C1), "status")["link"] == "down", 30, "03148 sees its link down")
    T.put(C1, "2026", "14", 13)
    ob = wait_until(lambda: (lambda d: d if d["count"] >= 1 else None)(tierctl(T.d(C1), "outbox")), 20,
                    "03148 outbox holds the new report")
    e = ob["entries"][0]
    R.eq((e["origin"], e["period"]), (C1, "2026"), "outbox: origin and period of the waiting report")
    R.check(e["size"] > 0 and e["age_ms"] >= 0 and ob["oldest_age_ms"] is not None, "outbox: size and age")
    s = tierctl(T.d(C1), "status")
    R.check(s["outbox"] == ob["count"] and s["outbox_oldest_age_ms"] is not None, "status: outbox depth and oldest age")
    m = tierctl(T.d(C1), "metrics")
    R.eq((m["outbox_depth"], m["link_up"]), (ob["count"], 0), "metrics: outbox depth and link down")
    R.check("waiting" in tierctl(T.d(C1), "outbox", json=False), "outbox (human) summary")
    T.start("095")
    wait_until(lambda: tierctl(T.d(C1), "outbox")["count"] == 0, 30, "03148 outbox drains after the parent is back")
    VALS[(C1, "2026")][2] = ("14", 13, None, "")
    T.wait_values("VN", "2026", expected_sum("2026"), unit="095")


def chromium_exe():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_run(html, outdir, width=412, height=915, shot_name="page.png", dom_url=None):
    """Screenshot of html and --dump-dom of dom_url (default html) at width x height."""
    exe = chromium_exe()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + os.path.join(outdir, "profile"), "--window-size=%d,%d" % (width, height),
             "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
    shot = os.path.join(outdir, shot_name)
    p1 = tslib.run([exe] + flags + ["--screenshot=" + shot, "file://" + html], timeout=90)
    p2 = tslib.run([exe] + flags + ["--dump-dom", "file://" + (dom_url or html)], timeout=90)
    return shot, p1, p2


# Appended to a copy of the page (the page itself has no script), which is
# shown in an iframe exactly WIDTH px wide (headless Chromium will not make
# a window narrower than 500 px): measures what the reader sees and writes
# it as JSON into <pre id="probe"> of the outer page, which --dump-dom shows.
PROBE = r"""<script>
(function () {
  function fs(e) { return parseFloat(getComputedStyle(e).fontSize); }
  var out = {innerW: window.innerWidth, scrollW: document.documentElement.scrollWidth,
             titles: {}, labels: [], svgtext: [], dis: [], tableFont: null};
  var td = document.querySelector("table.values td");
  if (td) out.tableFont = fs(td);
  document.querySelectorAll("section.indicator").forEach(function (sec) {
    var h = sec.querySelector("h2");
    out.titles[sec.id] = h ? h.textContent : "";
    var svg = sec.querySelector("svg.chart"), sb = svg.getBoundingClientRect();
    svg.querySelectorAll("text").forEach(function (t) {
      var b = t.getBoundingClientRect(), m = t.getScreenCTM();
      var r = {text: t.textContent, cls: t.getAttribute("class"), left: b.left, right: b.right,
               top: b.top, bottom: b.bottom, svgLeft: sb.left, svgRight: sb.right, svgTop: sb.top,
               svgBottom: sb.bottom, font: fs(t) * Math.sqrt(Math.abs(m.a * m.d - m.b * m.c)),
               cssFont: fs(t)};
      out.svgtext.push(r);
      if (/\blabel\b/.test(r.cls)) out.labels.push(r);
    });
  });
  document.querySelectorAll("table.values td.dis").forEach(function (c) { out.dis.push(c.textContent); });
  var pre = parent.document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  parent.document.body.appendChild(pre);
})();
</script>"""


def catalogue_names():
    """{id: (name_vi, name_en)} read from domain/catalogue.tsv by Python."""
    out = {}
    with open(os.path.join(tslib.SRCDIR, "domain", "catalogue.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(("#", "!", "id\t")) or not line.strip():
                continue
            c = line.rstrip("\n").split("\t")
            out[c[0]] = (c[3], c[4])
    return out


def html_layout(html, tmp, shots, inds, unit_names):
    """Render at desktop and phone width; check names, labels, font size, unit names."""
    import html as htmlmod
    page = open(html, encoding="utf-8").read().replace("</body>", PROBE + "\n</body>")
    names = catalogue_names()
    for width, height in ((1400, 900), (390, 844)):
        probe = os.path.join(tmp, "probe-%d.html" % width)
        with open(probe, "w", encoding="utf-8") as f:
            f.write('<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0;display:block" '
                    'width="%d" height="%d" srcdoc="%s"></iframe></body></html>'
                    % (width, height, htmlmod.escape(page, quote=True)))
        shot, p1, p2 = chromium_run(probe, tmp, max(width, 500) + 16, height + 16, "page-%d.png" % width)
        dest = os.path.join(shots, "page-%d.png" % width)
        if os.path.exists(shot):
            shutil.move(shot, dest)
        print("# screenshot at %d px: %s" % (width, dest))
        R.check(p1.returncode == 0 and os.path.exists(dest) and os.path.getsize(dest) > 1000,
                "html %d px: screenshot taken (%d)" % (width, p1.returncode))
        m = re.search(r'<pre id="probe">(.*?)</pre>', p2.stdout, re.S)
        if not R.check(m is not None, "html %d px: the DOM probe ran (%s)" % (width, p2.stderr.strip()[-200:])):
            continue
        d = json.loads(htmlmod.unescape(m.group(1)))
        console = [l for l in (p1.stderr + p2.stderr).splitlines() if re.search(r"CONSOLE\(\d+\)|Uncaught", l)]
        R.eq(console, [], "html %d px: no console errors" % width)
        R.eq(d["innerW"], width, "html %d px: rendered at that width" % width)
        for ind in inds:
            title = d["titles"].get("ind-" + ind, "")
            R.check(ind in names and names[ind][0] in title,
                    "html %d px: chart title of indicator %s has its name (%r)" % (width, ind, title[:80]))
        raw = [t for t in [r["text"] for r in d["svgtext"]] + d["dis"] + list(d["titles"].values())
               if re.search(r"\b(sex|eth|dis|age)=", t)]
        R.eq(raw, [], "html %d px: no raw disaggregation key shown as a label" % width)
        R.check("nữ / girls" in d["dis"], "html %d px: sex=f labelled 'nữ / girls' (%r)" % (width, d["dis"]))
        tf = d["tableFont"]
        bad = sorted({round(r["font"], 2) for r in d["svgtext"] if tf is None or abs(r["font"] - tf) > 1})
        R.check(tf is not None and d["svgtext"] and not bad,
                "html %d px: chart text renders at the tables' size %.2f px (off: %r)" % (width, tf or 0, bad))
        want = {"%s %s" % (c, n) for c, n in unit_names.items()}
        got = {r["text"] for r in d["labels"]}
        R.check(want <= got and not any("…" in t for t in got),
                "html %d px: every unit label has the full name (%r)" % (width, sorted(got - want)))
        clipped = [r["text"] for r in d["labels"] if r["left"] < r["svgLeft"] - 0.5 or r["right"] > r["svgRight"] + 0.5
                   or r["top"] < r["svgTop"] - 0.5 or r["bottom"] > r["svgBottom"] + 0.5]
        R.eq(clipped, [], "html %d px: no unit label is clipped by its chart" % width)
        R.check(d["scrollW"] <= width, "html %d px: no horizontal scrolling (%d)" % (width, d["scrollW"]))


def test_export():
    want = tierctl(T.d("VN"), "report", "2026", "--unit", "095")
    vals = tslib.report_values(want)
    # csv
    text = tierctl(T.d("VN"), "export", "--format", "csv", "2026", "--unit", "095", json=False)
    rows = list(csv.DictReader(io.StringIO(text)))
    R.eq(list(rows[0].keys()), ["period", "unit", "name", "level", "parent", "indicator", "disaggregation",
                                "numerator", "denominator", "seq"], "csv: stable header")
    got = {(r["indicator"], r["disaggregation"]): (int(r["numerator"]), int(r["denominator"]))
           for r in rows if r["unit"] == "095"}
    R.eq(got, vals, "csv: the district's rows equal its report")
    names = {r["unit"]: r["name"] for r in rows}
    R.eq(names.get(C1), "Phường Sông Đà", "csv: Vietnamese names intact (UTF-8)")
    R.eq(sorted(names), sorted(["095", C1, C2]), "csv: units with a report only")
    # dhis2
    d = json.loads(tierctl(T.d("VN"), "export", "--format", "dhis2", "2026", "--unit", "095", json=False))
    R.check(all(k in d for k in ("dataSet", "period", "orgUnit", "completeDate", "dataValues")),
            "dhis2: dataValueSets keys")
    R.check(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d["completeDate"]) is not None and d["period"] == "2026",
            "dhis2: completeDate and period")
    dv = d["dataValues"]
    R.check(all(set(v) >= {"dataElement", "categoryOptionCombo", "value", "orgUnit", "period"} and
                isinstance(v["value"], str) for v in dv), "dhis2: every dataValue has the fields")
    byk = {(v["orgUnit"], v["dataElement"], v["categoryOptionCombo"]): v["value"] for v in dv}
    R.eq((byk.get(("095", "TS_9", "default")), byk.get(("095", "TS_9_DEN", "default")),
          byk.get(("095", "TS_9", "sex=f"))),
         (str(vals[("9", "")][0]), str(vals[("9", "")][1]), str(vals[("9", "sex=f")][0])),
         "dhis2: mapping of numerator, denominator and disaggregation")
    m = json.loads(tierctl(T.d("VN"), "export", "--format", "dhis2", "2025-07", "--unit", "095", json=False))
    R.check(m["period"] == "202507" and all(v["period"] == "202507" for v in m["dataValues"]),
            "dhis2: monthly period 2025-07 -> 202507")
    # adx
    tmp = tempfile.mkdtemp(prefix="ts-ops-x-")
    try:
        adx = os.path.join(tmp, "x.xml")
        p = tierctl_raw(T.d("VN"), "export", "--format", "adx", "2026", "--unit", "095", "-o", adx)
        R.eq(p.returncode, 0, "adx: export -o FILE exits 0 (%s)" % p.stderr.strip()[:200])
        x = tslib.run(["xmllint", "--noout", adx])
        R.eq((x.returncode, x.stderr.strip()), (0, ""), "adx: xmllint --noout says well-formed")
        root = ET.parse(adx).getroot()
        ns = "{urn:ihe:qrph:adx:2015}"
        R.eq(root.tag, ns + "adx", "adx: root element in the ADX namespace")
        groups = root.findall(ns + "group")
        g = [g for g in groups if g.get("orgUnit") == "095"]
        R.check(len(g) == 1 and g[0].get("period") == "2026-01-01/P1Y", "adx: group with ISO 8601 start/duration")
        dvs = {(e.get("dataElement"), e.get("sex")): e.get("value") for e in g[0].findall(ns + "dataValue")}
        R.eq((dvs.get(("TS_9", None)), dvs.get(("TS_9", "f"))), (str(vals[("9", "")][0]), str(vals[("9", "sex=f")][0])),
             "adx: values, disaggregation as attribute sex=\"f\"")
        # html
        # The html page names indicators from the catalogue node.conf names.
        html = os.path.join(tmp, "page.html")
        conf = os.path.join(T.d("VN"), "node.conf")
        saved = open(conf, encoding="utf-8").read()
        try:
            # trees made by localtree name it already (tierctl init's default)
            if not re.search(r"^catalogue\s", saved, re.M):
                with open(conf, "a", encoding="utf-8") as f:
                    f.write("\ncatalogue %s\n" % os.path.join(tslib.SRCDIR, "domain", "catalogue.tsv"))
            p = tierctl_raw(T.d("VN"), "export", "--format", "html", "2026", "--unit", "095", "-o", html)
        finally:
            with open(conf, "w", encoding="utf-8") as f:
                f.write(saved)
        R.eq(p.returncode, 0, "html: export exits 0 (%s)" % p.stderr.strip()[:200])
        page = open(html, encoding="utf-8").read()
        R.check("http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
                and "<script" not in page and "<link" not in page, "html: self-contained (no external assets)")
        shown = re.sub(r"<[^>]*>", " ", page)
        R.eq(re.findall(r"\b(?:sex|eth|dis|age)=\S*", shown), [],
                "html: no raw disaggregation key in the page's text")
        if not chromium_exe():
            print("# SKIP html: rendering in headless Chromium (chromium not installed; tools/deps installs it)")
            return
        shot, p1, p2 = chromium_run(html, tmp)
        R.check(p1.returncode == 0 and os.path.getsize(shot) > 1000 and open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n",
                "html: headless Chromium renders and screenshots it (%d)" % p1.returncode)
        console = [l for l in (p1.stderr + p2.stderr).splitlines() if re.search(r"CONSOLE\(\d+\)|Uncaught", l)]
        R.eq(console, [], "html: no console errors")
        inds = sorted({k[0] for k in vals} | {k[0] for (c, p_), vs in VALS.items() if p_ == "2026" for k in vs})
        charts = re.findall(r'<svg[^>]*class="chart"', p2.stdout)
        R.eq(len(charts), len(inds), "html: one chart per indicator in the rendered DOM (%s)" % inds)
        R.check("Xã Lay Nưa" in p2.stdout and "missing" in p2.stdout, "html: completeness table lists the missing child")
        shots = tempfile.mkdtemp(prefix="ts-ops-shots-")
        unit_names = {u: names[u] for u in names}
        unit_names[C3] = "Xã Lay Nưa"
        html_layout(html, tmp, shots, inds, unit_names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stderr_on_tty(args):
    """Run tierctl with stderr on a pseudo-terminal; returns what it wrote there."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.run([tslib.TIERCTL] + args, stdout=subprocess.PIPE, stderr=slave, timeout=60)
        os.close(slave)
        slave = None
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return p.returncode, out.decode("utf-8", "replace")
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


def test_progress():
    for args, word in ((["export", "--format", "csv", "2026"], "export"), (["verify", "--all"], "verify"),
                       (["tree", "2026", "--unit", "095"], "tree")):
        rc, err = stderr_on_tty(["-d", T.d("VN")] + args)
        R.check(rc == 0 and re.search(r"\r%s[^\r]*: \d+" % word, err), "%s: progress on a terminal (%r)"
                % (" ".join(args), err[:80]))
        p = tierctl_raw(T.d("VN"), *args)
        R.eq((p.returncode, p.stderr), (0, ""), "%s: no progress when stderr is piped" % " ".join(args))


def test_help_and_errors():
    for cmd in ("status", "children", "outbox", "log", "verify", "tree", "keys", "export", "metrics", "report"):
        p = tierctl_raw(None, cmd, "--help")
        R.check(p.returncode == 0 and p.stdout.startswith("usage: tierctl") and cmd in p.stdout,
                "%s --help" % cmd)
    d = T.d("VN")
    for args, name, rc in ((("tree", "2025Q5"), "PERIOD", 1), (("tree",), "PERIOD", 2),
                           (("children", "--period", "x"), "--period", 1),
                           (("tree", "2025", "--unit", "NOPE9"), "--unit", 1),
                           (("export", "--format", "pdf", "2025"), "--format", 1),
                           (("export", "2025"), "--format", 2),
                           (("export", "--format", "csv", "2025", "--depth", "-1"), "--depth", 1),
                           (("keys", "revoke"), "CODE", 2), (("keys", "rotate", "--overlap", "3w"), "--overlap", 1),
                           (("keys", "frob"), "SUBCOMMAND", 2), (("metrics", "extra"), "extra", 2)):
        p = tierctl_raw(d, *args)
        R.check(p.returncode == rc and name in p.stderr,
                "%s -> exit %d naming %s (%d: %s)" % (" ".join(args), rc, name, p.returncode, p.stderr.strip()[:120]))


R.run(setup)
if T is not None:
    R.run(test_status)
    R.run(test_children)
    R.run(test_tree)
    R.run(test_log)
    R.run(test_metrics)
    R.run(test_outbox)
    R.run(test_export)
    R.run(test_progress)
    R.run(test_help_and_errors)
R.finish()
