/* Alert and practice forms: the audience picker shows only the lists the chosen TLP level uses,
   live warning for identifiers in GREEN/CLEAR alerts, category definitions, list filters,
   and confirmation before a withdrawal. No inline script (strict CSP); works without JS too. */
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n, loaded by base.html) defines gettext and interpolate.
  var gettext = window.gettext || function (msgid) { return msgid; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };

  function chosenTlp(form) {
    var checked = form.querySelector('input[name="tlp"]:checked');
    return checked ? checked : null;
  }

  function syncPicker(form) {
    var chosen = chosenTlp(form);
    var uses = chosen ? (chosen.getAttribute("data-uses") || "").split(" ").filter(Boolean) : [];
    form.querySelectorAll(".audience-list").forEach(function (list) {
      list.hidden = uses.indexOf(list.getAttribute("data-list")) === -1;
    });
    form.querySelectorAll(".tlp-level").forEach(function (label) {
      var input = label.querySelector("input");
      label.classList.toggle("is-checked", !!(input && input.checked));
    });
    var empty = form.querySelector(".audience-none");
    if (empty) { empty.hidden = uses.length > 0; }
  }

  function syncWarning(form) {
    var box = document.getElementById("identifier-warning");
    if (!box) { return; }
    var chosen = chosenTlp(form);
    var tlp = chosen ? chosen.value : "";
    var containers = form.querySelector('textarea[name="containers"]');
    var vessels = form.querySelector('textarea[name="vessels"]');
    var has = (containers && containers.value.trim()) || (vessels && vessels.value.trim());
    var wide = tlp === "GREEN" || tlp === "CLEAR";
    box.hidden = !(has && wide);
    var text = document.getElementById("identifier-warning-text");
    if (text && wide) {
      text.textContent = interpolate(gettext(
        "Container or vessel numbers in a %(tlp)s alert reach every member, private operators included, and could warn the network behind them. Pick AMBER or stricter, or confirm that these numbers may be shared this widely."), {tlp: tlp}, true);
    }
  }

  function syncDefinition() {
    var select = document.getElementById("id_category");
    var out = document.getElementById("category-definition");
    if (!select || !out) { return; }
    var option = select.options[select.selectedIndex];
    out.textContent = option ? (option.getAttribute("data-definition") || "") : "";
  }

  function filterList(input) {
    var target = document.getElementById(input.getAttribute("data-target"));
    if (!target) { return; }
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    target.querySelectorAll(".choice").forEach(function (choice) {
      var text = choice.getAttribute("data-text") || "";
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      choice.hidden = !match && !choice.querySelector("input").checked;
    });
  }

  function init() {
    ["alert-form", "practice-form"].forEach(function (id) {
      var form = document.getElementById(id);
      if (!form) { return; }
      form.addEventListener("change", function (event) {
        if (event.target.name === "tlp") { syncPicker(form); }
        if (event.target.id === "id_category") { syncDefinition(); }
        syncWarning(form);
      });
      form.addEventListener("input", function (event) {
        if (event.target.classList.contains("list-filter")) { filterList(event.target); }
        if (event.target.name === "containers" || event.target.name === "vessels") { syncWarning(form); }
      });
      syncPicker(form);
      syncWarning(form);
      syncDefinition();
    });
    document.querySelectorAll("button[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
