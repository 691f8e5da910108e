/* Shared helpers for the trends pages: API calls, masked counts, number formats and Chart.js defaults.
   Loaded after the vendored Chart.js; no inline script anywhere (strict CSP). */
(function () {
  "use strict";

  var PALETTE = ["#0b3c7d", "#d1495b", "#2a9d8f", "#e9a23b", "#6a4c93", "#00798c", "#8d6e63", "#5c7cfa",
    "#c05299", "#4f772d"];
  var MASK = "<3";
  // Django's JavaScript catalogue (jsi18n, loaded by base.html before this file) translates; numbers
  // follow the page's language (the lang attribute Django sets from the active language).
  var LOCALE = document.documentElement.lang || "en-GB";
  var gettext = window.gettext || function (msgid) { return msgid; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var pgettext = window.pgettext || function (context, msgid) { return msgid; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };
  /** A translated message with %(name)s placeholders filled in. */
  function fmt(message, values) {
    return interpolate(message, values, true);
  }

  /** A count from the API as a number, or null when it is masked ("<3") or absent. */
  function num(v) {
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  function isMasked(v) {
    return v === MASK;
  }

  function fmtInt(v) {
    if (isMasked(v)) return MASK;
    if (v === null || v === undefined) return "–";
    return Math.round(v).toLocaleString(LOCALE);
  }

  function fmtKg(v) {
    if (v === null || v === undefined) return "–";
    if (v >= 10000) return (v / 1000).toLocaleString(LOCALE, {maximumFractionDigits: 1}) + " t";
    return v.toLocaleString(LOCALE, {maximumFractionDigits: 1}) + " kg";
  }

  function fmtPct(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    return (v * 100).toLocaleString(LOCALE, {maximumFractionDigits: digits === undefined ? 1 : digits}) + " %";
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /** GET or POST JSON on the same origin with the session; rejects with {status, body}. */
  function api(url, options) {
    options = options || {};
    var init = {credentials: "same-origin", headers: {Accept: "application/json"}};
    if (options.body !== undefined) {
      init.method = options.method || "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = csrfToken();
      init.body = JSON.stringify(options.body);
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = {detail: text}; }
        if (!response.ok) throw {status: response.status, body: body};
        return body;
      });
    });
  }

  /** A readable message from an API error body ({code, errors}). */
  function errorText(err) {
    if (!err || !err.body) return gettext("The request failed.");
    var errors = err.body.errors || {};
    var parts = Object.keys(errors).map(function (k) {
      var v = errors[k];
      return (k === "non_field_errors" || k === "detail" ? "" : k + ": ") + (Array.isArray(v) ? v.join(" ") : v);
    });
    return parts.length ? parts.join("; ") : (err.body.detail || err.body.code || "HTTP " + err.status);
  }

  function setDefaults() {
    if (!window.Chart) return;
    var d = window.Chart.defaults;
    d.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    d.font.size = 12;
    d.color = "#5b6478";
    d.borderColor = "#e3e7ef";
    d.animation = false;
    d.maintainAspectRatio = false;
    d.responsive = true;
    d.plugins.legend.labels.boxWidth = 12;
    d.plugins.legend.labels.boxHeight = 12;
    d.plugins.tooltip.backgroundColor = "rgba(20,33,61,.92)";
  }

  function color(i) {
    return PALETTE[i % PALETTE.length];
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  setDefaults();
  window.TrendCharts = {
    gettext: gettext, ngettext: ngettext, pgettext: pgettext, fmt: fmt, LOCALE: LOCALE,
    MASK: MASK, num: num, isMasked: isMasked, fmtInt: fmtInt, fmtKg: fmtKg, fmtPct: fmtPct,
    api: api, errorText: errorText, color: color, el: el, csrfToken: csrfToken
  };
})();
