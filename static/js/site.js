// Every page: a <select data-autosubmit> submits its form when changed (the language menu).
// A file, not an inline handler: the Content-Security-Policy allows only the site's own scripts.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
