// The admin's embedding spaces: while a space is building, its progress bar and count are
// refreshed every two seconds from the progress endpoint, with the time left estimated
// from the rate seen since the page opened. Without JavaScript the page shows the counts
// as they were when it loaded.
(function () {
  var live = document.getElementById("space-progress-live");
  var bars = document.querySelectorAll(".space-progress");
  if (!live || !window.fetch) return;
  // A re-index was just requested: its space appears once the worker has loaded the model.
  var waiting = live.getAttribute("data-waiting") === "1";
  var first = {};  // space id -> {time, done}: the first figures seen, for the rate
  var INTERVAL_MS = 2000;

  function eta(space, now) {
    if (space.done >= space.total) return live.getAttribute("data-done");
    var start = first[space.id];
    if (!start || space.done <= start.done) {
      // Nothing moved yet: say so, and after a while that the worker is awaited.
      return now - (start ? start.time : now) > 30000 ? live.getAttribute("data-stalled") : live.getAttribute("data-estimating");
    }
    var rate = (space.done - start.done) / ((now - start.time) / 1000);
    var seconds = (space.total - space.done) / rate;
    if (seconds < 60) return live.getAttribute("data-seconds");
    return live.getAttribute("data-minutes").replace("{n}", String(Math.ceil(seconds / 60)));
  }

  function update() {
    fetch(live.getAttribute("data-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) return;
        var now = Date.now(), building = false, appeared = false;
        body.spaces.forEach(function (space) {
          var holder = document.querySelector('.space-progress[data-space="' + space.id + '"]');
          if (!holder) { appeared = appeared || waiting; return; }
          if (!(space.id in first)) first[space.id] = {time: now, done: space.done};
          var bar = holder.querySelector("progress");
          bar.max = Math.max(space.total, 1);
          bar.value = space.done;
          holder.querySelector(".count").textContent = space.text;
          holder.querySelector(".eta").textContent = space.building || space.done < space.total ? eta(space, now) : "";
          holder.setAttribute("data-building", space.building ? "1" : "0");
          building = building || space.done < space.total;  // a finished space needs no more polls
        });
        if (appeared) { window.location.reload(); return; }  // the awaited space exists: show its row
        if (building || waiting) window.setTimeout(update, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(update, INTERVAL_MS * 5); });
  }

  var anyBuilding = Array.prototype.some.call(bars, function (bar) { return bar.getAttribute("data-building") === "1"; });
  if (anyBuilding || waiting) update();
})();
