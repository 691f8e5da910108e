/* A displacement flag: its weekly evidence as charts and a table, and the liaison's confirm/dismiss form. */
(function () {
  "use strict";

  var T = window.TrendCharts;
  var root = document.getElementById("flag");
  if (!root || !T) return;

  var COLORS = {a: "#0b3c7d", b: "#c62828", c: "#8e96a6"};
  var STATUS_LABELS = {open: T.pgettext("flag status", "Open"), confirmed: T.pgettext("flag status", "Confirmed"),
    dismissed: T.pgettext("flag status", "Dismissed")};

  /** Shades the before and after windows behind the data (a plugin object, no inline style). */
  function windowShading(flag, labelled) {
    return {
      id: "windowShading",
      beforeDatasetsDraw: function (chart) {
        var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
        var labels = chart.data.labels;
        var step = labels.length > 1 ? x.getPixelForValue(1) - x.getPixelForValue(0) : area.right - area.left;
        [[flag.window_before, "rgba(11,60,125,.07)", T.gettext("before window")],
          [flag.window_after, "rgba(233,162,59,.16)", T.gettext("after window")]]
          .forEach(function (w) {
            var idx = labels.map(function (l, i) { return l >= w[0].start && l < w[0].end ? i : -1; })
              .filter(function (i) { return i >= 0; });
            if (!idx.length) return;
            var left = Math.max(area.left, x.getPixelForValue(idx[0]) - step / 2);
            var right = Math.min(area.right, x.getPixelForValue(idx[idx.length - 1]) + step / 2);
            ctx.save();
            ctx.fillStyle = w[1];
            ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
            if (labelled) {
              ctx.fillStyle = "#5b6478";
              ctx.font = "600 11px system-ui, sans-serif";
              ctx.fillText(w[2], left + 6, area.bottom - 8);
            }
            ctx.restore();
          });
      }
    };
  }

  function rate(hits, scans) {
    var h = T.num(hits), s = T.num(scans);
    return h === null || s === null || !s ? null : h / s;
  }

  function drawCharts(flag) {
    var ev = flag.evidence || [];
    var labels = ev.map(function (r) { return r.week; });
    var names = {a: T.fmt(T.gettext("%(port)s (tightened)"), {port: flag.from_port}),
      b: T.fmt(T.gettext("%(port)s (candidate)"), {port: flag.to_port}), c: T.gettext("rest of the alliance")};
    var rateSets = ["a", "b", "c"].map(function (side) {
      var raw = ev.map(function (r) {
        return T.isMasked(r[side + "_hits"]) || T.isMasked(r[side + "_scans"]) ? T.MASK : rate(r[side + "_hits"], r[side + "_scans"]);
      });
      return {
        label: names[side], raw: raw, data: raw.map(function (v) { return T.num(v); }), spanGaps: true,
        borderColor: COLORS[side], backgroundColor: COLORS[side], borderWidth: side === "c" ? 1.5 : 2.5,
        borderDash: side === "c" ? [5, 4] : [], pointRadius: 2, tension: 0.2
      };
    });
    var label = function (fmt) {
      return function (ctx) {
        var raw = ctx.dataset.raw ? ctx.dataset.raw[ctx.dataIndex] : undefined;
        return ctx.dataset.label + ": " + (T.isMasked(raw) ? T.MASK : fmt(ctx.parsed.y));
      };
    };
    var rateCanvas = document.getElementById("chart-evidence-rate");
    new window.Chart(rateCanvas, {
      type: "line",
      data: {labels: labels, datasets: rateSets},
      options: {
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom"}, tooltip: {callbacks: {label: label(function (v) { return T.fmtPct(v, 2); })}}},
        scales: {
          x: {ticks: {maxRotation: 0, autoSkipPadding: 14}, grid: {display: false}},
          y: {beginAtZero: true, ticks: {callback: function (v) { return T.fmtPct(v, 1); }}}
        }
      },
      plugins: [windowShading(flag, true)]
    });
    rateCanvas.dataset.points = String(rateSets.reduce(function (n, d) {
      return n + d.data.filter(function (v) { return v !== null; }).length;
    }, 0));

    var countSets = [];
    ["a", "b"].forEach(function (side) {
      var hits = ev.map(function (r) { return r[side + "_hits"]; });
      countSets.push({type: "bar", label: T.fmt(T.gettext("hits at %(port)s"), {port: side === "a" ? flag.from_port : flag.to_port}), raw: hits,
        data: hits.map(T.num), backgroundColor: COLORS[side], yAxisID: "hits", order: 2});
      var scans = ev.map(function (r) { return r[side + "_scans"]; });
      countSets.push({type: "line", label: T.fmt(T.gettext("scans at %(port)s"), {port: side === "a" ? flag.from_port : flag.to_port}), raw: scans,
        data: scans.map(T.num), borderColor: COLORS[side], backgroundColor: COLORS[side], borderWidth: 1.5,
        borderDash: [4, 3], pointRadius: 0, yAxisID: "scans", order: 1, spanGaps: true});
    });
    new window.Chart(document.getElementById("chart-evidence-counts"), {
      data: {labels: labels, datasets: countSets},
      options: {
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom"}, tooltip: {callbacks: {label: label(T.fmtInt)}}},
        scales: {
          x: {ticks: {maxRotation: 0, autoSkipPadding: 14}, grid: {display: false}},
          hits: {position: "left", beginAtZero: true, title: {display: true, text: "hits"}},
          scans: {position: "right", beginAtZero: true, grid: {display: false}, title: {display: true, text: "scans"}}
        }
      },
      plugins: [windowShading(flag, false)]
    });
  }

  function drawTable(flag) {
    var tbody = document.querySelector("#evidence tbody");
    tbody.textContent = "";
    (flag.evidence || []).forEach(function (r) {
      var after = r.week >= flag.window_after.start && r.week < flag.window_after.end;
      var tr = T.el("tr", {"class": after ? "window-after" : ""});
      tr.appendChild(T.el("td", {"class": "mono"}, r.week));
      ["a", "b", "c"].forEach(function (side) {
        tr.appendChild(T.el("td", {"class": "num"}, T.fmtInt(r[side + "_scans"])));
        tr.appendChild(T.el("td", {"class": "num"}, T.fmtInt(r[side + "_hits"])));
        var kg = r[side + "_seized_kg"];
        tr.appendChild(T.el("td", {"class": "num"}, kg === null || kg === undefined ? "–" : kg.toFixed(1)));
      });
      tbody.appendChild(tr);
    });
  }

  /** The cumulative excess at B against the control, week by week (computed server-side from the rows shown). */
  function drawGrowth(flag) {
    var g = flag.growth || [];
    var summary = document.getElementById("growth-summary");
    var tbody = document.querySelector("#growth tbody");
    if (!g.length) {
      summary.textContent = T.gettext("No week after the window start to show.");
      return;
    }
    var labels = g.map(function (r) { return r.week; });
    new window.Chart(document.getElementById("chart-growth"), {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          {label: T.fmt(T.gettext("hits at %(port)s, cumulative"), {port: flag.to_port}), data: g.map(function (r) { return r.cumulative_hits; }),
            borderColor: COLORS.b, backgroundColor: COLORS.b, borderWidth: 2.5, pointRadius: 0, yAxisID: "hits"},
          {label: T.gettext("expected from the rest of the alliance, cumulative"), data: g.map(function (r) { return r.cumulative_expected; }),
            borderColor: COLORS.c, backgroundColor: COLORS.c, borderWidth: 2, borderDash: [5, 4], pointRadius: 0, yAxisID: "hits"},
          {label: T.gettext("cumulative excess"), data: g.map(function (r) { return r.cumulative_excess; }), type: "bar",
            backgroundColor: "rgba(233,162,59,.45)", yAxisID: "hits", order: 3}
        ]
      },
      options: {
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom"}},
        scales: {
          x: {ticks: {maxRotation: 0, autoSkipPadding: 14}, grid: {display: false}},
          hits: {position: "left", beginAtZero: true, title: {display: true, text: T.gettext("hits since the after window began")}}
        }
      },
      plugins: [windowShading(flag, false)]
    });
    var last = g[g.length - 1];
    var gaps = g.filter(function (r) { return !r.complete; }).length;
    var values = {week: last.week, hits: T.fmtInt(last.cumulative_hits), port: flag.to_port,
      expected: last.cumulative_expected.toFixed(1), excess: last.cumulative_excess.toFixed(1),
      z: last.z === null ? "" : last.z.toFixed(1), weeks: g.length, gaps: gaps};
    var text = last.z === null
      ? T.fmt(T.ngettext("By the week of %(week)s: %(hits)s hits at %(port)s against %(expected)s expected, an excess of %(excess)s over %(weeks)s week",
        "By the week of %(week)s: %(hits)s hits at %(port)s against %(expected)s expected, an excess of %(excess)s over %(weeks)s weeks", g.length), values)
      : T.fmt(T.ngettext("By the week of %(week)s: %(hits)s hits at %(port)s against %(expected)s expected, an excess of %(excess)s (z = %(z)s) over %(weeks)s week",
        "By the week of %(week)s: %(hits)s hits at %(port)s against %(expected)s expected, an excess of %(excess)s (z = %(z)s) over %(weeks)s weeks", g.length), values);
    summary.textContent = text + (gaps
      ? T.fmt(T.ngettext("; %(gaps)s week with hidden figures left out.", "; %(gaps)s weeks with hidden figures left out.", gaps), values)
      : ".");
    tbody.textContent = "";
    g.forEach(function (r) {
      var tr = T.el("tr", {"class": r.complete ? "" : "muted"});
      tr.appendChild(T.el("td", {"class": "mono"}, r.week));
      tr.appendChild(T.el("td", {"class": "num"}, r.b_hits === null ? "–" : T.fmtInt(r.b_hits)));
      tr.appendChild(T.el("td", {"class": "num"}, r.b_expected === null ? "–" : r.b_expected.toFixed(2)));
      tr.appendChild(T.el("td", {"class": "num"}, T.fmtInt(r.cumulative_hits)));
      tr.appendChild(T.el("td", {"class": "num"}, r.cumulative_expected.toFixed(1)));
      tr.appendChild(T.el("td", {"class": "num"}, r.cumulative_excess.toFixed(1)));
      tr.appendChild(T.el("td", {"class": "num"}, r.z === null ? "–" : r.z.toFixed(1)));
      tbody.appendChild(tr);
    });
  }

  function drawStatus(flag) {
    ["flag-status", "status-pill"].forEach(function (id) {
      var pill = document.getElementById(id);
      pill.className = "pill flagstatus-" + flag.status;
      pill.textContent = STATUS_LABELS[flag.status] || flag.status;
    });
    var reason = document.getElementById("status-reason");
    reason.textContent = flag.status_reason || "";
    reason.classList.toggle("hidden", !flag.status_reason);
  }

  function drawFacts(flag) {
    var sign = flag.effect > 0 ? "+" : "";
    document.getElementById("fact-effect").textContent = sign + T.fmtPct(flag.effect, 0);
    document.getElementById("fact-effect").title = T.fmt(T.gettext("Relative change of hits per scan at %(port)s against the control"), {port: flag.to_port});
  }

  function bindForm() {
    var form = document.getElementById("status-form");
    if (!form) return;
    var message = document.getElementById("status-message");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var choice = form.querySelector("input[name=status]:checked");
      var body = {status: choice ? choice.value : "", reason: form.elements.reason.value.trim()};
      message.textContent = T.gettext("Saving…");
      message.classList.remove("error");
      T.api(root.dataset.apiStatus, {body: body}).then(function (flag) {
        drawStatus(flag);
        form.elements.reason.value = "";
        message.textContent = T.gettext("Decision recorded.");
      }).catch(function (err) {
        message.textContent = T.errorText(err);
        message.classList.add("error");
      });
    });
  }

  bindForm();
  T.api(root.dataset.apiFlag).then(function (flag) {
    drawFacts(flag);
    drawStatus(flag);
    drawCharts(flag);
    drawGrowth(flag);
    drawTable(flag);
    root.classList.add("flag-loaded");
  }).catch(function (err) {
    var p = T.el("p", {"class": "error"}, T.gettext("The flag could not be loaded:") + " " + T.errorText(err));
    root.insertBefore(p, root.firstChild);
  });
})();
