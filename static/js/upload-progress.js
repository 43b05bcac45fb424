// The upload page: while some of the listed items are pending or being indexed, ask the
// server for their status every two seconds and update the table and a progress bar in
// place. Without JavaScript the page still shows the status as of its last load.
(function () {
  var box = document.getElementById("index-progress"), table = document.getElementById("items");
  if (!box || !table || !window.fetch) return;
  var bar = box.querySelector("progress"), text = box.querySelector("span");
  function cells() { return Array.prototype.slice.call(table.querySelectorAll("td.status")); }
  function waiting() {
    return cells().filter(function (cell) {
      var status = cell.getAttribute("data-status");
      return status === "pending" || status === "indexing";
    });
  }
  var watched = waiting().map(function (cell) { return cell.parentNode.getAttribute("data-item-id"); });
  if (!watched.length) return;
  box.hidden = false;
  function show(done, total) {
    bar.max = total; bar.value = done;
    text.textContent = text.getAttribute("data-template").replace("__done__", done).replace("__total__", total);
  }
  show(0, watched.length);
  function poll() {
    fetch(box.getAttribute("data-url") + "?ids=" + watched.join(","), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { setTimeout(poll, 5000); return; }
        body.items.forEach(function (item) {
          var row = table.querySelector('tr[data-item-id="' + item.id + '"]');
          if (!row) return;
          var cell = row.querySelector("td.status");
          cell.setAttribute("data-status", item.status);
          cell.className = "status status-" + item.status;
          cell.textContent = item.label + (item.failure_reason ? ": " + item.failure_reason : "");
        });
        show(body.done, body.total);
        if (body.done < body.total) setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
