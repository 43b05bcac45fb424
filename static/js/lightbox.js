// Pictures in the results open large over the page: previous/next with the arrow keys,
// the buttons or a swipe; Esc, the close button or the browser's Back closes it (opening
// pushes a history entry, so Back never leaves the results). The address names the
// picture shown (#view-<id>), and opening such an address shows it again. Without JavaScript the
// cards are plain links to each item's page.
(function () {
  var box = document.getElementById("lightbox");
  if (!box || !box.showModal || !window.history.pushState) return;
  var image = document.getElementById("lightbox-image"), current = -1;
  function cards() { return Array.prototype.slice.call(document.querySelectorAll("li.result[data-full]")); }
  function show(index) {
    var list = cards();
    if (!list.length) return;
    current = (index + list.length) % list.length;
    var card = list[current];
    image.src = card.getAttribute("data-full");
    image.alt = card.getAttribute("data-title");
    document.getElementById("lightbox-title").textContent = card.getAttribute("data-title");
    document.getElementById("lightbox-date").textContent = card.getAttribute("data-date");
    document.getElementById("lightbox-similar").href = card.getAttribute("data-similar");
    document.getElementById("lightbox-detail").href = card.getAttribute("data-detail");
    document.getElementById("lightbox-download").href = card.getAttribute("data-full");
    box.setAttribute("data-item-id", card.getAttribute("data-item-id"));
    history.replaceState({lightbox: true}, "", "#view-" + card.getAttribute("data-item-id"));
  }
  function open(index) {
    history.pushState({lightbox: true}, "", location.href);
    if (!box.open) box.showModal();
    show(index);
  }
  function close() { if (history.state && history.state.lightbox) history.back(); else hide(); }
  function hide() { if (box.open) box.close(); current = -1; }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("li.result[data-full] a.preview");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    open(cards().indexOf(link.closest("li.result")));
  });
  window.addEventListener("popstate", function (event) {
    if (!(event.state && event.state.lightbox)) hide();
  });
  box.addEventListener("cancel", function (event) { event.preventDefault(); close(); });  // Esc
  document.getElementById("lightbox-close").addEventListener("click", close);
  document.getElementById("lightbox-prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("lightbox-next").addEventListener("click", function () { show(current + 1); });
  box.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
  });
  var touchX = null;
  box.addEventListener("touchstart", function (event) { touchX = event.changedTouches[0].clientX; }, {passive: true});
  box.addEventListener("touchend", function (event) {
    if (touchX === null) return;
    var moved = event.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(moved) > 50) show(current + (moved < 0 ? 1 : -1));
  });
  box.addEventListener("click", function (event) { if (event.target === box) close(); });  // the backdrop

  // A shared or reloaded link to a picture in the lightbox ("…#view-42") opens it over the
  // page it belongs to; Back then closes it, as if it had been clicked.
  function openLinked() {
    var linked = /^#view-(\d+)$/.exec(location.hash);
    if (!linked || box.open) return;
    var index = cards().map(function (card) { return card.getAttribute("data-item-id"); }).indexOf(linked[1]);
    if (index >= 0) {
      history.replaceState(null, "", location.pathname + location.search);
      open(index);
    }
  }
  openLinked();
  // Such a link pasted into the tab that shows its page changes only the fragment.
  window.addEventListener("hashchange", openLinked);
})();
