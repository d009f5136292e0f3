// The photo grid's infinite scroll: when the "Older photos" link comes near the screen, fetch that page as a
// fragment (X-Fragment: 1, templates/medialib/_photo_grid.html) and append its days, joining a day that goes on
// from the last one. The pages loaded are kept in this history entry's state, with the scroll position, so coming
// back to the page (Back from a detail page) loads them again and returns to the same place.
// Without this script the link is a plain link to the next page.
(function () {
  "use strict";
  const root = document.getElementById("gallery");
  if (!root || !root.querySelector(".photo-days") || !window.fetch || !window.DOMParser) return;
  const days = root.querySelector(".photo-days");
  const state = Object.assign({}, history.state || {});
  const loaded = Array.isArray(state.gridPages) ? state.gridPages.slice() : [];
  let pending = null;

  function olderLink() {
    return root.querySelector(".photo-pager a[rel=next]");
  }

  function remember(extra) {
    Object.assign(state, history.state || {}, { gridPages: loaded.slice() }, extra || {});
    history.replaceState(state, "");
  }

  function append(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    doc.querySelectorAll(".photo-day").forEach(function (section) {
      const last = days.lastElementChild;
      if (last && last.dataset.day === section.dataset.day) {
        // The same day goes on over the page's edge: one heading, its tiles in one grid.
        const grid = last.querySelector(".photo-grid");
        section.querySelectorAll(".tile").forEach(function (tile) { grid.append(document.importNode(tile, true)); });
      } else {
        days.append(document.importNode(section, true));
      }
    });
    const link = olderLink();
    const next = doc.querySelector(".photo-pager a[rel=next]");
    if (next) link.href = next.getAttribute("href");
    else link.remove();
    document.dispatchEvent(new CustomEvent("photogrid:appended"));
  }

  // The next (older) page; resolves to false at the end. One request at a time.
  function loadMore() {
    if (pending) return pending;
    const link = olderLink();
    if (!link) return Promise.resolve(false);
    const url = link.href;
    link.setAttribute("aria-busy", "true");
    pending = fetch(url, { headers: { "X-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        append(html);
        loaded.push(url);
        remember();
        return true;
      })
      .catch(function () {
        return false; // the link stays: clicking it loads the page the ordinary way
      })
      .finally(function () {
        link.removeAttribute("aria-busy");
        pending = null;
        watch();
      });
    return pending;
  }

  let observer = null;
  function watch() {
    if (!observer) return;
    observer.disconnect();
    const link = olderLink();
    if (link) observer.observe(link);
  }

  root.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest(".photo-pager a[rel=next]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    loadMore();
  });

  let scrollTimer = null;
  window.addEventListener("scroll", function () {
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(function () { remember({ gridScroll: window.scrollY }); }, 150);
  }, { passive: true });
  window.addEventListener("pagehide", function () { remember({ gridScroll: window.scrollY }); });

  function startObserving() {
    if (!("IntersectionObserver" in window)) return;
    observer = new IntersectionObserver(function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) loadMore();
    }, { rootMargin: "0px 0px 600px 0px" });
    watch();
  }

  // Coming back: load the pages this entry had (their URLs, in order), then return to where it was scrolled.
  async function restore(pages, scroll) {
    loaded.length = 0;
    for (const url of pages) {
      const link = olderLink();
      if (!link || link.href !== url) break;
      if (!(await loadMore())) break;
    }
    if (typeof scroll === "number") window.scrollTo(0, scroll);
  }

  window.photoGrid = { loadMore: loadMore, hasMore: function () { return !!olderLink(); } };
  if (loaded.length) {
    if ("scrollRestoration" in history) history.scrollRestoration = "manual";
    restore(loaded.slice(), state.gridScroll).then(startObserving);
  } else if (document.readyState === "complete") {
    startObserving();
  } else {
    // After the page's own pictures: the next page's request would compete with the first thumbnails.
    window.addEventListener("load", startObserving, { once: true });
  }
})();
