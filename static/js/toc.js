// A profile's table of contents (jinja2/profiles/_toc.html) marks the part being read
// with aria-current="location". The links work without this script; it only adds the
// "you are here" mark, so it does nothing where IntersectionObserver is missing.
(function () {
  "use strict";
  var nav = document.querySelector(".toc--aside");
  if (!nav || !("IntersectionObserver" in window)) return;
  var links = {};
  nav.querySelectorAll('a[href^="#"]').forEach(function (link) {
    links[decodeURIComponent(link.hash.slice(1))] = link;
  });
  var headings = Object.keys(links).map(function (id) { return document.getElementById(id); }).filter(Boolean);
  var visible = new Set();
  function mark() {
    // The first heading on screen, or the last one scrolled past.
    var current = headings.filter(function (h) { return visible.has(h); })[0];
    if (!current) {
      current = headings.filter(function (h) { return h.getBoundingClientRect().top < 0; }).pop();
    }
    Object.keys(links).forEach(function (id) { links[id].removeAttribute("aria-current"); });
    if (current) links[current.id].setAttribute("aria-current", "location");
  }
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) visible.add(entry.target); else visible.delete(entry.target);
    });
    mark();
  }, { rootMargin: "0px 0px -60% 0px" });
  headings.forEach(function (h) { observer.observe(h); });
})();
