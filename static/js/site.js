// Every page: a <select data-autosubmit> submits its form when changed (the language menu).
// A file, not an inline handler: the Content-Security-Policy allows only the site's own scripts.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});

// The demo notice can be dismissed; the choice is remembered in this browser.
(function () {
  var note = document.getElementById("demo-note"), button = document.getElementById("demo-note-close");
  if (!note || !button) return;
  var key = "demo-note-hidden";
  try { if (localStorage.getItem(key)) { note.hidden = true; return; } } catch (error) { /* storage off */ }
  button.hidden = false;
  button.addEventListener("click", function () {
    note.hidden = true;
    try { localStorage.setItem(key, "1"); } catch (error) { /* storage off */ }
  });
})();

// Forms with data-confirm ask before they submit (delete buttons). A file, not an inline
// onsubmit: the Content-Security-Policy would silently skip an inline handler.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
