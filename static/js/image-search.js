// Progressive enhancement: drop, paste or pick a picture and it is searched at once.
(function () {
  var form = document.getElementById("image-search"), input = document.getElementById("image-input"),
      zone = document.getElementById("dropzone"), submit = document.getElementById("image-submit");
  if (!form || !window.DataTransfer) return;
  submit.style.display = "none";
  function searchWith(file) {
    if (!file || file.type.indexOf("image/") !== 0) return;
    var transfer = new DataTransfer(); transfer.items.add(file); input.files = transfer.files; form.submit();
  }
  input.addEventListener("change", function () { if (input.files.length) form.submit(); });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) { event.preventDefault(); searchWith(event.dataTransfer.files[0]); });
  document.addEventListener("paste", function (event) {
    var items = (event.clipboardData || {}).items || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file") { searchWith(items[i].getAsFile()); event.preventDefault(); return; }
    }
  });
})();
