/* The /trends/ dashboard: fetches the trends and displacement APIs with the page's filters and draws the
   charts (Chart.js, vendored) and the SVG map of the alliance's ports with displacement flags as arrows. */
(function () {
  "use strict";

  var T = window.TrendCharts;
  var root = document.getElementById("trends");
  if (!root || !T) return;

  var SVGNS = "http://www.w3.org/2000/svg";
  var TOP_PORTS = 8; // lines per chart; the rest are summed into "other ports"
  var HUB_LABELS = {north_west: T.pgettext("hub", "North-West"), north_east: T.pgettext("hub", "North-East"),
    south_east: T.pgettext("hub", "South-East"), southern: T.pgettext("hub", "Southern"),
    south_west: T.pgettext("hub", "South-West")};
  var STATUS_LABELS = {open: T.pgettext("flag status", "Open"), confirmed: T.pgettext("flag status", "Confirmed"),
    dismissed: T.pgettext("flag status", "Dismissed")};
  var CONFIDENCE_LABELS = {low: T.pgettext("confidence", "Low"), medium: T.pgettext("confidence", "Medium"),
    high: T.pgettext("confidence", "High")};
  var BUCKET_LABELS = {day: T.gettext("days"), week: T.gettext("weeks"), month: T.gettext("months")};
  var statusEl = document.getElementById("trend-status");
  var ports = JSON.parse(document.getElementById("ports-data").textContent);
  var portsByCode = {};
  ports.forEach(function (p) { portsByCode[p.locode] = p; });
  var charts = {};

  /* ------------------------------------------------------------ filters */

  function currentFilters() {
    var form = document.getElementById("trend-filters");
    var params = new URLSearchParams();
    ["since", "until", "bucket", "hub", "port", "origin"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value) params.set(name, field.value);
    });
    return params;
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  /* ------------------------------------------------------------ charts */

  function portTotals(port) {
    var t = {scans: 0, suspect: 0, positive: 0, seized_kg: 0, masked: 0};
    port.series.forEach(function (pt) {
      ["scans", "suspect", "positive", "seized_kg"].forEach(function (k) {
        var v = T.num(pt[k]);
        if (v === null) { if (T.isMasked(pt[k]) || (k === "seized_kg" && pt[k] === null)) t.masked += 1; }
        else t[k] += v;
      });
    });
    return t;
  }

  /** The ports charted one by one (largest first), and the rest. */
  function splitPorts(data) {
    var ranked = data.ports.map(function (p) { return {port: p, totals: portTotals(p)}; });
    ranked.sort(function (a, b) { return b.totals.scans - a.totals.scans; });
    return {top: ranked.slice(0, TOP_PORTS), rest: ranked.slice(TOP_PORTS)};
  }

  function rawLookup(dataset, index) {
    return dataset.raw ? dataset.raw[index] : undefined;
  }

  function tooltipLabel(formatter) {
    return function (ctx) {
      var raw = rawLookup(ctx.dataset, ctx.dataIndex);
      var shown = T.isMasked(raw) ? T.MASK : formatter(ctx.parsed.y !== undefined ? ctx.parsed.y : ctx.parsed.x);
      return ctx.dataset.label + ": " + shown;
    };
  }

  function lineOptions(yFormatter, stacked) {
    return {
      interaction: {mode: "index", intersect: false},
      plugins: {
        legend: {position: "bottom"},
        tooltip: {callbacks: {label: tooltipLabel(yFormatter)}}
      },
      scales: {
        x: {stacked: !!stacked, ticks: {maxRotation: 0, autoSkip: true, autoSkipPadding: 12}, grid: {display: false}},
        y: {stacked: !!stacked, beginAtZero: true, ticks: {callback: function (v) { return yFormatter(v); }}}
      }
    };
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    var canvas = document.getElementById(id);
    charts[id] = new window.Chart(canvas, config);
    canvas.dataset.points = String(config.data.datasets.reduce(function (n, d) {
      return n + d.data.filter(function (v) { return v !== null && v !== undefined; }).length;
    }, 0));
    canvas.closest(".chart-card").classList.add("is-drawn");
  }

  function sumSeries(entries, key) {
    var n = entries.length ? entries[0].port.series.length : 0;
    var out = [];
    for (var i = 0; i < n; i++) {
      var s = 0;
      entries.forEach(function (e) { s += T.num(e.port.series[i][key]) || 0; });
      out.push(s);
    }
    return out;
  }

  function drawCharts(data) {
    var labels = data.buckets;
    var split = splitPorts(data);
    var scanSets = split.top.map(function (e, i) {
      return {
        label: e.port.port, raw: e.port.series.map(function (pt) { return pt.scans; }),
        data: e.port.series.map(function (pt) { return T.num(pt.scans); }),
        borderColor: T.color(i), backgroundColor: T.color(i), borderWidth: 2, pointRadius: 0, tension: 0.25
      };
    });
    if (split.rest.length) {
      scanSets.push({label: T.fmt(T.gettext("other ports (%(count)s)"), {count: split.rest.length}), data: sumSeries(split.rest, "scans"),
        borderColor: "#9aa3b5", backgroundColor: "#9aa3b5", borderDash: [4, 3], borderWidth: 1.5, pointRadius: 0});
    }
    draw("chart-scans", {type: "line", data: {labels: labels, datasets: scanSets}, options: lineOptions(T.fmtInt)});

    var rateSets = split.top.map(function (e, i) {
      var raw = e.port.series.map(function (pt) {
        var s = T.num(pt.scans), h1 = T.num(pt.suspect), h2 = T.num(pt.positive);
        if (T.isMasked(pt.scans) || T.isMasked(pt.suspect) || T.isMasked(pt.positive)) return T.MASK;
        return s ? (h1 + h2) / s : null;
      });
      return {
        label: e.port.port, raw: raw, data: raw.map(function (v) { return T.num(v); }), spanGaps: true,
        borderColor: T.color(i), backgroundColor: T.color(i), borderWidth: 2, pointRadius: 0, tension: 0.25
      };
    });
    draw("chart-rate", {type: "line", data: {labels: labels, datasets: rateSets},
      options: lineOptions(function (v) { return T.fmtPct(v, 1); })});

    var kgSets = split.top.map(function (e, i) {
      return {
        label: e.port.port, raw: e.port.series.map(function (pt) { return pt.seized_kg === null ? T.MASK : pt.seized_kg; }),
        data: e.port.series.map(function (pt) { return T.num(pt.seized_kg); }),
        backgroundColor: T.color(i), borderWidth: 0, stack: "kg"
      };
    });
    draw("chart-kg", {type: "bar", data: {labels: labels, datasets: kgSets}, options: lineOptions(T.fmtKg, true)});

    // Verdict mix per port over the period: hits and the rest (clear or inconclusive), as shares of scans.
    var mixPorts = split.top.map(function (e) { return e; });
    var mix = {clear: [], suspect: [], positive: []};
    var mixRaw = {clear: [], suspect: [], positive: []};
    mixPorts.forEach(function (e) {
      var t = e.totals, total = t.scans || 0;
      var other = Math.max(0, t.scans - t.suspect - t.positive);
      [["clear", other], ["suspect", t.suspect], ["positive", t.positive]].forEach(function (kv) {
        mixRaw[kv[0]].push(kv[1]);
        mix[kv[0]].push(total ? kv[1] / total : 0);
      });
    });
    var mixLabel = function (key) {
      return function (ctx) {
        return ctx.dataset.label + ": " + T.fmtPct(ctx.parsed.x, 2) + " (" + T.fmtInt(mixRaw[key][ctx.dataIndex]) + ")";
      };
    };
    draw("chart-mix", {
      type: "bar",
      data: {
        labels: mixPorts.map(function (e) { return e.port.port; }),
        datasets: [
          {label: T.gettext("clear or inconclusive"), data: mix.clear, backgroundColor: "#cdd5e3", tooltipKey: "clear"},
          {label: T.pgettext("verdict", "suspect"), data: mix.suspect, backgroundColor: "#e9a23b", tooltipKey: "suspect"},
          {label: T.pgettext("verdict", "positive"), data: mix.positive, backgroundColor: "#d1495b", tooltipKey: "positive"}
        ]
      },
      options: {
        indexAxis: "y",
        plugins: {
          legend: {position: "bottom"},
          tooltip: {callbacks: {label: function (ctx) { return mixLabel(ctx.dataset.tooltipKey)(ctx); }}}
        },
        scales: {
          x: {stacked: true, min: 0, max: 1, ticks: {callback: function (v) { return T.fmtPct(v, 0); }}},
          y: {stacked: true, grid: {display: false}}
        }
      }
    });
  }

  function drawKpis(data) {
    var t = {scans: 0, suspect: 0, positive: 0, seized_kg: 0, masked: 0};
    data.overall.forEach(function (pt) {
      t.scans += T.num(pt.scans) || 0;
      t.suspect += T.num(pt.suspect) || 0;
      t.positive += T.num(pt.positive) || 0;
      t.seized_kg += T.num(pt.seized_kg) || 0;
      t.masked += pt.masked_ports || 0;
    });
    var prefix = t.masked || data.cells_left_out ? "≥ " : "";
    document.getElementById("kpi-scans").textContent = prefix + T.fmtInt(t.scans);
    document.getElementById("kpi-hits").textContent = prefix + T.fmtInt(t.suspect + t.positive);
    document.getElementById("kpi-rate").textContent = t.scans ? T.fmtPct((t.suspect + t.positive) / t.scans, 2) : "–";
    document.getElementById("kpi-kg").textContent = prefix + T.fmtKg(t.seized_kg);
    return t;
  }

  /* ------------------------------------------------------------ map */

  // Mercator over fixed frames (no tile server: the land is a static file). The main view holds every member
  // port; an inset enlarges the North Sea range, where ports lie a few kilometres apart.
  var WIDTH = 1000;
  var MAIN = {west: -11.5, east: 31.5, south: 34.5, north: 61.5};
  var INSET = {west: 2.4, east: 6.6, south: 50.75, north: 53.0};
  var INSET_BOX = {x: 8, y: 8, width: 430};

  function mercY(lat) {
    var r = lat * Math.PI / 180;
    return Math.log(Math.tan(Math.PI / 4 + r / 2));
  }

  /** A view: a frame projected onto a viewBox `width` wide, with its own groups in the SVG. */
  function makeView(frame, width, groups) {
    var k = width / ((frame.east - frame.west) * Math.PI / 180);
    return {
      frame: frame, width: width, groups: groups,
      height: Math.round((mercY(frame.north) - mercY(frame.south)) * k),
      scale: width / 1000, // sizes (dots, labels, arcs) relative to the main map
      project: function (lon, lat) {
        return [(lon - frame.west) * Math.PI / 180 * k, (mercY(frame.north) - mercY(lat)) * k];
      }
    };
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var mapEl = document.getElementById("port-map");
  var views = [makeView(MAIN, WIDTH, {
    graticule: document.getElementById("map-graticule"), land: document.getElementById("map-land"),
    ports: document.getElementById("map-ports"), flags: document.getElementById("map-flags")
  })];
  mapEl.setAttribute("viewBox", "0 0 " + WIDTH + " " + views[0].height);

  (function addInset() {
    // The inset is a nested <svg> (it clips its own content) drawn at a larger scale than the main map.
    var width = 600;
    var view = makeView(INSET, width, {});
    var boxHeight = INSET_BOX.width * view.height / width;
    views[0].obstacles = [{x: INSET_BOX.x, y: INSET_BOX.y, w: INSET_BOX.width, h: boxHeight}];
    var nested = svg("svg", {"class": "inset", x: INSET_BOX.x, y: INSET_BOX.y, width: INSET_BOX.width,
      height: boxHeight.toFixed(1), viewBox: "0 0 " + width + " " + view.height, "aria-label": T.gettext("North Sea ports, enlarged")});
    nested.appendChild(svg("rect", {"class": "inset-sea", x: 0, y: 0, width: width, height: view.height}));
    ["graticule", "land", "ports", "flags"].forEach(function (name) {
      view.groups[name] = nested.appendChild(svg("g", {"class": name}));
    });
    nested.appendChild(svg("rect", {"class": "inset-frame", x: 1, y: 1, width: width - 2, height: view.height - 2}));
    nested.appendChild(svg("text", {"class": "inset-title", x: 14, y: view.height - 14}, T.gettext("North Sea ports")));
    // Where the inset sits on the main map.
    var m = views[0], tl = m.project(INSET.west, INSET.north), br = m.project(INSET.east, INSET.south);
    document.getElementById("map-graticule").parentNode.insertBefore(
      svg("rect", {"class": "inset-outline", x: tl[0].toFixed(1), y: tl[1].toFixed(1),
        width: (br[0] - tl[0]).toFixed(1), height: (br[1] - tl[1]).toFixed(1)}),
      document.getElementById("map-flags"));
    mapEl.appendChild(nested);
    views.push(view);
  })();

  function drawGraticule(view) {
    var f = view.frame, step = f.east - f.west > 20 ? 10 : 2, latStep = f.east - f.west > 20 ? 5 : 1;
    for (var lon = Math.ceil(f.west / step) * step; lon <= f.east; lon += step) {
      var a = view.project(lon, f.south - 2), b = view.project(lon, f.north + 2);
      view.groups.graticule.appendChild(svg("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1]}));
    }
    for (var lat = Math.ceil(f.south / latStep) * latStep; lat <= f.north; lat += latStep) {
      var c = view.project(f.west - 2, lat), d = view.project(f.east + 2, lat);
      view.groups.graticule.appendChild(svg("line", {x1: c[0], y1: c[1], x2: d[0], y2: d[1]}));
    }
  }

  function drawLand() {
    var url = mapEl.dataset.land;
    if (!url) return;
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (land) {
      views.forEach(function (view) {
        var d = land.rings.map(function (ring) {
          return "M" + ring.map(function (pt) {
            var p = view.project(pt[0], pt[1]);
            return p[0].toFixed(1) + "," + p[1].toFixed(1);
          }).join("L") + "Z";
        }).join("");
        view.groups.land.appendChild(svg("path", {d: d}));
      });
    }).catch(function () { /* the map stays usable without the coastline */ });
  }

  function boxesOverlap(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }

  function drawPorts(view, data, flags, measures) {
    var g = view.groups.ports, u = view === views[0] ? 1 : 1.6; // the inset is shown smaller: larger marks
    g.textContent = "";
    var volume = {};
    (data ? data.ports : []).forEach(function (p) { volume[p.port] = portTotals(p).scans; });
    var maxVolume = Math.max.apply(null, [1].concat(Object.keys(volume).map(function (k) { return volume[k]; })));
    var flagged = {};
    flags.forEach(function (f) { flagged[f.from_port] = true; flagged[f.to_port] = true; });
    var measured = {};
    (measures || []).forEach(function (m) { measured[m.port] = (measured[m.port] || 0) + 1; });
    // Labels: flagged ports first, then by volume; a label that would overlap one already placed moves
    // around its dot, and is left out (the dot keeps its tooltip) if no place is free.
    var order = ports.slice().sort(function (a, b) {
      return (flagged[b.locode] ? 1 : 0) - (flagged[a.locode] ? 1 : 0) || (volume[b.locode] || 0) - (volume[a.locode] || 0);
    });
    var placed = (view.obstacles || []).slice(), spots = {};
    order.forEach(function (p) {
      var xy = view.project(p.lon, p.lat);
      var r = (3.5 + 6 * Math.sqrt((volume[p.locode] || 0) / maxVolume)) * u;
      placed.push({x: xy[0] - r, y: xy[1] - r, w: 2 * r, h: 2 * r});
      spots[p.locode] = {xy: xy, r: r};
    });
    order.forEach(function (p) {
      var xy = spots[p.locode].xy, r = spots[p.locode].r;
      if (xy[0] < -20 || xy[0] > view.width + 20 || xy[1] < -20 || xy[1] > view.height + 20) return;
      var node = svg("g", {"class": "port hub-" + p.hub + (flagged[p.locode] ? " is-flagged" : "") +
        (volume[p.locode] ? " has-data" : ""), "data-port": p.locode});
      node.appendChild(svg("title", {}, p.name + " (" + p.locode + ") · " + (HUB_LABELS[p.hub] || "") +
        (volume[p.locode] !== undefined ? " · " + T.fmt(T.gettext("%(count)s scans shown"), {count: T.fmtInt(volume[p.locode])}) : "") +
        (measured[p.locode] ? " · " + T.fmt(T.ngettext("%(count)s declared measure", "%(count)s declared measures",
          measured[p.locode]), {count: measured[p.locode]}) : "")));
      if (measured[p.locode]) {
        // A dashed ring: this port declared a tightening in force for the filters.
        node.appendChild(svg("circle", {"class": "measure-ring", cx: xy[0].toFixed(1), cy: xy[1].toFixed(1),
          r: (r + 4 * u).toFixed(1)}));
        node.classList.add("has-measure");
      }
      node.appendChild(svg("circle", {cx: xy[0].toFixed(1), cy: xy[1].toFixed(1), r: r.toFixed(1)}));
      var w = (p.locode.length * 10.5 + 4) * u, h = 16 * u, base = 5 * u;
      var candidates = [[r + 4 * u, base, "start"], [-r - 4 * u, base, "end"], [0, -r - base, "middle"],
        [0, r + h, "middle"]];
      for (var i = 0; i < candidates.length; i++) {
        var s = candidates[i];
        var bx = s[2] === "start" ? xy[0] + s[0] : s[2] === "end" ? xy[0] + s[0] - w : xy[0] - w / 2;
        var box = {x: bx, y: xy[1] + s[1] - 13 * u, w: w, h: h};
        if (box.x < 0 || box.x + box.w > view.width || box.y < 0 || box.y + box.h > view.height) continue;
        if (placed.some(function (o) { return boxesOverlap(o, box); })) continue;
        placed.push(box);
        node.appendChild(svg("text", {x: (xy[0] + s[0]).toFixed(1), y: (xy[1] + s[1]).toFixed(1),
          "text-anchor": s[2], "class": u > 1 ? "label-large" : ""}, p.locode));
        break;
      }
      g.appendChild(node);
    });
  }

  /** The point `by` units from `from` towards `to` (an arc's end, cleared from the port's dot). */
  function trim(from, to, by) {
    var dx = to[0] - from[0], dy = to[1] - from[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
    return [from[0] + dx / len * by, from[1] + dy / len * by];
  }

  function flagUrl(id) {
    return root.dataset.flagUrl.replace("00000000-0000-0000-0000-000000000000", encodeURIComponent(id));
  }

  function drawFlags(view, flags) {
    var g = view.groups.flags, u = view === views[0] ? 1 : 1.6;
    g.textContent = "";
    var pairs = {};
    flags.forEach(function (f) {
      var a = portsByCode[f.from_port], b = portsByCode[f.to_port];
      if (!a || !b) return;
      var key = [f.from_port, f.to_port].sort().join("-");
      var nth = pairs[key] = (pairs[key] || 0) + 1;
      var p = view.project(a.lon, a.lat), q = view.project(b.lon, b.lat);
      var dx = q[0] - p[0], dy = q[1] - p[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
      // An arc bulging to the left of its direction (so A->B and B->A part), never flatter than 45 units:
      // neighbouring ports (Rotterdam, Antwerp) are a few units apart and a straight arrow would vanish.
      var bulge = Math.max(0.22 * len, 45 * u) * (1 + 0.6 * (nth - 1));
      var c = [(p[0] + q[0]) / 2 + dy / len * bulge, (p[1] + q[1]) / 2 - dx / len * bulge];
      var s0 = trim(p, c, 8 * u), e0 = trim(q, c, 10 * u);
      var mid = [0.25 * s0[0] + 0.5 * c[0] + 0.25 * e0[0], 0.25 * s0[1] + 0.5 * c[1] + 0.25 * e0[1]];
      var d = "M" + s0[0].toFixed(1) + "," + s0[1].toFixed(1) + " Q" + c[0].toFixed(1) + "," + c[1].toFixed(1) +
        " " + e0[0].toFixed(1) + "," + e0[1].toFixed(1);
      var link = svg("g", {"class": "flag-arrow status-" + f.status + " confidence-" + f.confidence +
        (u > 1 ? " in-inset" : ""), "data-flag-id": f.id, tabindex: "0", role: "link",
        "aria-label": T.fmt(T.gettext("Flag %(from)s to %(to)s on %(origin)s"), {from: f.from_port, to: f.to_port, origin: f.origin})});
      link.appendChild(svg("title", {}, T.fmt(
        T.gettext("%(from)s → %(to)s · origin %(origin)s · WDQ %(wdq)s · confidence: %(confidence)s · %(status)s"),
        {from: f.from_port, to: f.to_port, origin: f.origin, wdq: wdq(f.wdq),
          confidence: CONFIDENCE_LABELS[f.confidence] || f.confidence, status: STATUS_LABELS[f.status] || f.status})));
      link.appendChild(svg("path", {"class": "flag-hit", d: d}));
      link.appendChild(svg("path", {"class": "flag-line", d: d, "marker-end": "url(#arrow-" + f.status + ")"}));
      // A handle at the arc's middle: a target for the pointer, labelled with the origin.
      link.appendChild(svg("circle", {"class": "flag-handle", cx: mid[0].toFixed(1), cy: mid[1].toFixed(1),
        r: (7 * u).toFixed(1)}));
      link.appendChild(svg("text", {"class": "flag-label", x: (mid[0] + 10 * u).toFixed(1),
        y: (mid[1] + 5 * u).toFixed(1)}, f.origin));
      link.addEventListener("click", function () { window.location.href = flagUrl(f.id); });
      link.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); window.location.href = flagUrl(f.id); }
      });
      link.addEventListener("mouseenter", function () { highlight(f.id, true); });
      link.addEventListener("mouseleave", function () { highlight(f.id, false); });
      g.appendChild(link);
    });
  }

  /** The weighted displacement quotient, two decimals, written as the page's language writes numbers. */
  function wdq(v) {
    return Number(v).toLocaleString(T.LOCALE, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function highlight(id, on) {
    document.querySelectorAll("[data-flag-id]").forEach(function (n) {
      if (n.getAttribute("data-flag-id") === id) n.classList.toggle("is-hover", on);
    });
  }

  function pill(text, cls) {
    return T.el("span", {"class": "pill " + cls}, text);
  }

  function drawFlagTable(flags) {
    var tbody = document.querySelector("#flags tbody");
    tbody.textContent = "";
    if (!flags.length) {
      var tr = T.el("tr", {"class": "empty"});
      tr.appendChild(T.el("td", {colspan: "5", "class": "muted"}, T.gettext("No displacement flag for these filters.")));
      tbody.appendChild(tr);
      return;
    }
    flags.forEach(function (f) {
      var tr = T.el("tr", {"class": "flag-row status-" + f.status, "data-flag-id": f.id});
      var first = T.el("td", {"class": "nowrap"});
      first.appendChild(T.el("a", {href: flagUrl(f.id), "class": "mono"}, f.from_port + " → " + f.to_port));
      tr.appendChild(first);
      tr.appendChild(T.el("td", {"class": "mono"}, f.origin));
      tr.appendChild(T.el("td", {"class": "num"}, wdq(f.wdq)));
      var conf = T.el("td");
      conf.appendChild(pill(CONFIDENCE_LABELS[f.confidence] || f.confidence, "confidence-" + f.confidence));
      tr.appendChild(conf);
      var st = T.el("td");
      st.appendChild(pill(STATUS_LABELS[f.status] || f.status, "flagstatus-" + f.status));
      tr.appendChild(st);
      tr.addEventListener("click", function (e) {
        if (e.target.tagName !== "A") window.location.href = flagUrl(f.id);
      });
      tr.addEventListener("mouseenter", function () { highlight(f.id, true); });
      tr.addEventListener("mouseleave", function () { highlight(f.id, false); });
      tbody.appendChild(tr);
    });
  }

  /** Every page of a list endpoint (the standard envelope), up to `maxPages`. */
  function allPages(url, maxPages) {
    var out = [];
    function next(pageUrl, left) {
      return T.api(pageUrl).then(function (page) {
        out = out.concat(page.results);
        return page.next && left > 1 ? next(page.next, left - 1) : out;
      });
    }
    return next(url, maxPages);
  }

  /** Flags for the filters: the API filters origin and port; hub and period are applied here. */
  function loadFlags(filters) {
    var params = new URLSearchParams({page_size: "200"});
    if (filters.get("origin")) params.set("origin", filters.get("origin"));
    if (filters.get("port")) params.set("port", filters.get("port"));
    return allPages(root.dataset.apiFlags + "?" + params.toString(), 10).then(function (results) {
      var hub = filters.get("hub"), since = filters.get("since"), until = filters.get("until");
      return results.filter(function (f) {
        if (hub) {
          var a = portsByCode[f.from_port], b = portsByCode[f.to_port];
          if (!((a && a.hub === hub) || (b && b.hub === hub))) return false;
        }
        // A flag belongs to the period when its after window overlaps it.
        if (since && f.window_after.end <= since) return false;
        if (until && f.window_after.start > until) return false;
        return true;
      });
    });
  }

  /* ------------------------------------------------------------ measures */

  /** Measures in force for the filters: at the port (if one), on the origin or on every origin, begun by `until`. */
  function loadMeasures(filters) {
    var params = new URLSearchParams({page_size: "200"});
    if (filters.get("port")) params.set("port", filters.get("port"));
    return allPages(root.dataset.apiMeasures + "?" + params.toString(), 5).then(function (results) {
      var origin = filters.get("origin"), until = filters.get("until"), hub = filters.get("hub");
      return results.filter(function (m) {
        if (origin && m.origin && m.origin !== origin) return false;
        if (hub && !(portsByCode[m.port] && portsByCode[m.port].hub === hub)) return false;
        return !until || m.starts_on <= until;
      });
    });
  }

  function measureRow(m) {
    var tr = T.el("tr", {"data-measure-id": String(m.id)});
    tr.appendChild(T.el("td", {"class": "nowrap"}, m.starts_on));
    tr.appendChild(T.el("td", {"class": "mono"}, m.port));
    tr.appendChild(T.el("td", {"class": "mono"}, m.origin || "all"));
    tr.appendChild(T.el("td", {}, m.description));
    tr.appendChild(T.el("td", {"class": "mono small"}, m.agency));
    return tr;
  }

  function drawMeasures(measures) {
    var tbody = document.querySelector("#measures tbody");
    tbody.textContent = "";
    if (!measures.length) {
      var tr = T.el("tr", {"class": "empty"});
      tr.appendChild(T.el("td", {colspan: "5", "class": "muted"}, T.gettext("No declared measure for these filters.")));
      tbody.appendChild(tr);
    }
    measures.forEach(function (m) { tbody.appendChild(measureRow(m)); });
  }

  function bindMeasureForm() {
    var form = document.getElementById("measure-form");
    if (!form) return;
    var message = document.getElementById("measure-message");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = {
        port: form.elements.port.value, origin: form.elements.origin.value || null,
        starts_on: form.elements.starts_on.value, description: form.elements.description.value.trim()
      };
      message.textContent = T.gettext("Saving…");
      message.classList.remove("error");
      T.api(root.dataset.apiMeasures, {body: body}).then(function (m) {
        var tbody = document.querySelector("#measures tbody");
        var empty = tbody.querySelector("tr.empty");
        if (empty) empty.remove();
        tbody.insertBefore(measureRow(m), tbody.firstChild);
        form.elements.description.value = "";
        message.textContent = T.gettext("Measure declared; public-sector agencies across the alliance can see it.");
      }).catch(function (err) {
        message.textContent = T.errorText(err);
        message.classList.add("error");
      });
    });
  }

  /* ------------------------------------------------------------ load */

  var filters = currentFilters();
  views.forEach(function (view) {
    drawGraticule(view);
    drawPorts(view, null, []);
  });
  drawLand();

  var trendsDone = T.api(root.dataset.apiTrends + "?" + filters.toString()).then(function (data) {
    var totals = drawKpis(data);
    drawCharts(data);
    var masked = data.ports.some(function (p) { return p.masked; });
    var leftOut = data.cells_left_out || 0;
    var note = ".";
    if (leftOut) {
      // Other ports' figures are sums of their release cells; a cell with a count under 3 adds nothing.
      note = ". " + T.fmt(T.ngettext(
        "%(count)s cell with fewer than 3 scans or hits was left out of other ports' figures and the totals (shown as <3 where a point is that one cell).",
        "%(count)s cells with fewer than 3 scans or hits were left out of other ports' figures and the totals (shown as <3 where a point is that one cell).",
        leftOut), {count: leftOut});
    } else if (totals.masked || masked) {
      note = ". " + T.gettext("Other ports' figures are sums of their weekly cells; small counts are shown as <3.");
    }
    setStatus(T.fmt(T.ngettext("%(ports)s port with data", "%(ports)s ports with data", data.ports.length),
      {ports: data.ports.length}) + ", " + T.fmt(T.gettext("%(count)s %(unit)s from %(since)s to %(until)s"),
      {count: data.buckets.length, unit: BUCKET_LABELS[data.bucket] || data.bucket, since: data.since,
        until: data.until}) + note);
    root.classList.add("trends-loaded");
    return data;
  }).catch(function (err) {
    setStatus(T.gettext("Trends could not be loaded:") + " " + T.errorText(err), true);
    return null;
  });

  var flagsDone = loadFlags(filters).catch(function (err) {
    document.querySelector("#flags tbody").textContent = "";
    setStatus(T.gettext("Flags could not be loaded:") + " " + T.errorText(err), true);
    return [];
  });

  bindMeasureForm();
  var measuresDone = loadMeasures(filters).then(function (measures) {
    drawMeasures(measures);
    return measures;
  }).catch(function (err) {
    var tbody = document.querySelector("#measures tbody");
    tbody.textContent = "";
    var tr = T.el("tr");
    tr.appendChild(T.el("td", {colspan: "5", "class": "error"}, T.gettext("Measures could not be loaded:") + " " + T.errorText(err)));
    tbody.appendChild(tr);
    return [];
  });

  Promise.all([trendsDone, flagsDone, measuresDone]).then(function (res) {
    var data = res[0], flags = res[1], measures = res[2];
    views.forEach(function (view) {
      drawPorts(view, data, flags, measures);
      drawFlags(view, flags);
    });
    drawFlagTable(flags);
    document.getElementById("kpi-flags").textContent = String(flags.filter(function (f) {
      return f.status === "open";
    }).length);
    root.classList.add("flags-loaded");
  });
})();
