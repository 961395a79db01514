// Keyboard for the labeling and adjudication forms (form[data-keyboard-form]); no framework.
// Outside a text box: a digit picks that score and moves to the text box, Enter submits,
// S and U press the buttons marked data-key="s" / "u" (skip, undo).
// Inside a text box: Enter submits, Shift+Enter is a new line, Esc leaves the box.
// One listener on the document, so it keeps working after htmx swaps the form.
// After a swap, a new item starts with nothing focused, so its first key (a digit) picks the score:
// htmx would otherwise put the cursor back into the new rationale box, where a digit is just text.
// A form that comes back with errors keeps the cursor in its rationale box instead.
(function () {
  "use strict";

  function isTextBox(el) {
    return el && (el.tagName === "TEXTAREA" || el.isContentEditable ||
      (el.tagName === "INPUT" && /^(text|search|email|number|password|url)$/.test(el.type)));
  }

  function busy() {
    return document.querySelector(".htmx-request") !== null;
  }

  // A key pressed while the previous request is still settling is not lost: its button is pressed as soon
  // as htmx is idle (checked every 50 ms, for up to `tries` × 50 ms), on whatever item is then shown.
  function pressWhenIdle(key, tries) {
    if (busy()) {
      if (tries > 0) setTimeout(function () { pressWhenIdle(key, tries - 1); }, 50);
      return;
    }
    var button = document.querySelector('[data-key="' + key + '"]');
    if (button) button.click();
  }

  document.addEventListener("htmx:afterSwap", function () {
    var form = document.querySelector("form[data-keyboard-form]");
    var text = form && form.querySelector("textarea");
    if (text && form.querySelector(".field-error")) {
      text.focus();
    } else if (isTextBox(document.activeElement)) {
      document.activeElement.blur();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing || event.repeat) return;
    var target = event.target;
    var form = document.querySelector("form[data-keyboard-form]");

    if (isTextBox(target)) {
      if (event.key === "Escape") {
        target.blur();
      } else if (event.key === "Enter" && !event.shiftKey && target.form && target.form.hasAttribute("data-keyboard-form")) {
        event.preventDefault();
        if (!busy()) target.form.requestSubmit();
      }
      return;
    }
    if (target.tagName === "BUTTON" || target.tagName === "A" || target.tagName === "SELECT") return;

    if (/^[0-9]$/.test(event.key)) {
      var radio = form && form.querySelector('input[name="score"][value="' + event.key + '"]');
      if (!radio) return;
      event.preventDefault();
      radio.checked = true;
      var text = form.querySelector("textarea");
      if (text) text.focus();
    } else if (event.key === "Enter" && form) {
      event.preventDefault();
      if (!busy()) form.requestSubmit();
    } else if (event.key === "s" || event.key === "S" || event.key === "u" || event.key === "U") {
      if (!document.querySelector('[data-key="' + event.key.toLowerCase() + '"]')) return;
      event.preventDefault();
      pressWhenIdle(event.key.toLowerCase(), 40);
    }
  });
})();
