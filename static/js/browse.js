// The library without a query: "Load more" (a plain link to the next page without
// JavaScript) fetches the next page and appends its pictures and notes, continuing the
// month and day groups the page ends with; it loads by itself when scrolled into view.
// The numbered pager below stays for going straight to a page.
(function () {
  var browse = document.getElementById("browse");
  if (!browse || !window.fetch || !window.DOMParser) return;
  var loading = false;

  function merge(incoming) {
    Array.prototype.forEach.call(incoming.querySelectorAll("section.month"), function (month) {
      var mine = browse.querySelector('section.month[data-month="' + month.getAttribute("data-month") + '"]');
      if (!mine) { browse.appendChild(document.importNode(month, true)); return; }
      Array.prototype.forEach.call(month.querySelectorAll("div.day"), function (day) {
        var myDay = mine.querySelector('div.day[data-day="' + day.getAttribute("data-day") + '"]');
        if (!myDay) { mine.appendChild(document.importNode(day, true)); return; }
        var list = myDay.querySelector("ol");
        Array.prototype.forEach.call(day.querySelectorAll("ol > li"), function (card) {
          list.appendChild(document.importNode(card, true));
        });
      });
    });
  }

  function load(link) {
    if (loading) return;
    loading = true;
    var label = link.textContent;
    link.textContent = link.getAttribute("data-loading");
    link.setAttribute("aria-busy", "true");
    fetch(link.href, {credentials: "same-origin"})
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var incoming = page.getElementById("browse");
        if (incoming) merge(incoming);
        var next = page.getElementById("load-more");
        var pager = document.querySelector("nav.pager"), newPager = page.querySelector("nav.pager");
        if (pager && newPager) pager.replaceWith(document.importNode(newPager, true));
        if (next) { link.href = next.href; link.textContent = label; link.removeAttribute("aria-busy"); }
        else { link.parentNode.remove(); }
        loading = false;
        watch();
      })
      .catch(function () {
        // Leave the link as it was: a click follows it as a plain link.
        link.textContent = label;
        link.removeAttribute("aria-busy");
        link.setAttribute("data-failed", "1");
        loading = false;
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#load-more");
    if (!link || link.getAttribute("data-failed") || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    load(link);
  });

  var observer = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting && !entry.target.getAttribute("data-failed")) load(entry.target);
    });
  }, {rootMargin: "400px 0px"}) : null;
  function watch() {
    var link = document.getElementById("load-more");
    if (observer && link) { observer.disconnect(); observer.observe(link); }
  }
  watch();
})();
