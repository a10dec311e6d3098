/* Catalog editor helpers. Loaded as a file (CSP script-src 'self'): no inline code.
   - removes a data-item row (without JS, each row has a "delete" checkbox instead);
   - shows a field only when it applies, e.g. data-show-when="classification=base"
     or "share_category=conditional|unconditional|" (an empty alternative matches blank). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function valueOf(form, name) {
    var el = form.elements.namedItem(name);
    if (!el) return null;
    if (el instanceof RadioNodeList) return el.value;
    return el.value;
  }

  function refresh(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (box) {
      var rule = box.getAttribute("data-show-when");
      var eq = rule.indexOf("=");
      var name = rule.slice(0, eq);
      var wanted = rule.slice(eq + 1).split("|");
      var value = valueOf(form, name);
      box.hidden = value !== null && wanted.indexOf(value) < 0;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".remove-row");
    if (!button) return;
    var row = button.closest("tr");
    if (row) row.remove();
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.id === "entry-form") refresh(form);
  });

  function init() {
    var form = document.getElementById("entry-form");
    if (form) refresh(form);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
