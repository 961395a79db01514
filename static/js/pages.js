// What inline event handlers and style attributes did, before the Content-Security-Policy forbade them
// (config/csp.py): one listener per kind on the document, so it keeps working after htmx swaps.
//   data-select-on-click   the field's text is selected on a click (a new API token, to copy it)
//   data-submit-on-change  the field's form is submitted when it changes (a filter)
//   data-width="42"        the element's width, in percent (a progress bar)
//   data-shortcut="j"      a link followed when that key is pressed outside a text field (review order)
(function () {
  "use strict";

  function widths(root) {
    root.querySelectorAll("[data-width]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, parseFloat(el.dataset.width) || 0)) + "%";
    });
  }

  document.addEventListener("click", function (event) {
    var field = event.target.closest("[data-select-on-click]");
    if (field) field.select();
  });
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing || event.repeat) return;
    if (!/^[a-z]$/i.test(event.key)) return;
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    var link = document.querySelector('a[data-shortcut="' + event.key.toLowerCase() + '"]');
    if (!link) return;
    event.preventDefault();
    link.click();
  });
  document.addEventListener("DOMContentLoaded", function () { widths(document); });
  document.addEventListener("htmx:afterSettle", function (event) { widths(event.target); });
})();
