// The viewer: a tile opens its photo full screen over the grid (a modal <dialog>, templates/medialib/_viewer.html),
// with previous/next (buttons, arrow keys, a swipe), the face boxes and names on demand, and the people, labels
// and tags in a side panel. Each photo has its URL (?view=<public_id>), which opens the viewer directly.
// The data comes from medialib:asset_viewer as JSON and goes into the page with textContent only.
// Without this script a tile is a link to the photo's detail page.
(function () {
  "use strict";
  const dialog = document.getElementById("viewer");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) return;
  const grid = document.getElementById("gallery");
  const $ = function (id) { return document.getElementById(id); };
  const frame = $("viewer-frame"), stage = $("viewer-stage");
  const image = document.createElement("img");
  image.id = "viewer-image";
  image.className = "viewer-image";
  image.decoding = "async";
  image.alt = "";
  frame.prepend(image);
  const faces = $("viewer-faces"), captions = $("viewer-captions"), facesToggle = $("viewer-faces-toggle");
  const infoToggle = $("viewer-info-toggle"), panel = $("viewer-panel"), status = $("viewer-status");
  const SVG = "http://www.w3.org/2000/svg";
  const PHONE = window.matchMedia("(max-width: 700px)");
  const cache = new Map();
  let current = null; // the JSON of the photo shown
  let opener = null; // what had focus when the viewer opened: it gets it back
  let pushed = false; // whether opening added a history entry (then closing goes back)
  let request = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function data(publicId) {
    if (!cache.has(publicId)) {
      const url = dialog.dataset.url + "?public_id=" + encodeURIComponent(publicId);
      cache.set(publicId, fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status === 404 ? "This photo is not there (any more)." : "The photo could not be loaded.");
          return response.json();
        })
        .catch(function (error) { cache.delete(publicId); throw error; }));
    }
    return cache.get(publicId);
  }

  function tiles() {
    return grid ? Array.prototype.slice.call(grid.querySelectorAll(".tile[data-public-id]")) : [];
  }

  function tileOf(publicId) {
    return tiles().find(function (tile) { return tile.dataset.publicId === publicId; }) || null;
  }

  // The neighbours in the grid when the photo is one of its tiles (the search's order in search results), else
  // the gallery's neighbours the server gave.
  function neighbour(step) {
    if (!current) return Promise.resolve(null);
    const list = tiles();
    const index = list.findIndex(function (tile) { return tile.dataset.publicId === current.public_id; });
    if (index < 0) return Promise.resolve(step > 0 ? current.older : current.newer);
    if (list[index + step]) return Promise.resolve(list[index + step].dataset.publicId);
    if (step > 0 && window.photoGrid && window.photoGrid.hasMore()) {
      return window.photoGrid.loadMore().then(function () {
        const next = tiles()[index + 1];
        return next ? next.dataset.publicId : null;
      });
    }
    return Promise.resolve(null);
  }

  function fit() {
    if (!current) return;
    const room = stage.getBoundingClientRect();
    const w = current.image.width, h = current.image.height;
    // Fill the stage, up to twice the 1x size (the srcset's 2x file has those pixels).
    const scale = Math.min(room.width / w, room.height / h, 2);
    frame.style.width = Math.max(1, Math.floor(w * scale)) + "px";
    frame.style.height = Math.max(1, Math.floor(h * scale)) + "px";
  }

  function renderFaces(photo) {
    faces.setAttribute("viewBox", "0 0 1000 1000");
    faces.replaceChildren();
    captions.replaceChildren();
    photo.faces.forEach(function (face, index) {
      const group = document.createElementNS(SVG, "g");
      group.setAttribute("class", "face" + (face.name ? " known" : ""));
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", face.left * 1000);
      rect.setAttribute("y", face.top * 1000);
      rect.setAttribute("width", face.width * 1000);
      rect.setAttribute("height", face.height * 1000);
      rect.setAttribute("vector-effect", "non-scaling-stroke");
      const title = document.createElementNS(SVG, "title");
      title.textContent = face.name || "Unknown face " + (index + 1);
      group.append(title, rect);
      faces.append(group);
      const caption = el("span", "face-caption viewer-caption", face.name || "Unknown");
      caption.style.left = (face.left * 100) + "%";
      caption.style.top = (face.top * 100) + "%";
      captions.append(caption);
    });
    showFaces(facesToggle.getAttribute("aria-pressed") === "true");
    facesToggle.disabled = !photo.faces.length;
    facesToggle.textContent = photo.faces.length ? "Faces (" + photo.faces.length + ")" : "No faces";
  }

  function showFaces(on) {
    const visible = on && current && current.faces.length > 0;
    faces.toggleAttribute("hidden", !visible); // an SVG element has no .hidden property
    captions.hidden = !visible;
  }

  function renderPanel(photo) {
    const people = photo.faces.filter(function (face) { return face.name; });
    $("viewer-people").replaceChildren.apply($("viewer-people"), people.length ? people.map(function (face) {
      const item = el("li");
      const link = el("a", "", face.name);
      link.href = face.url;
      item.append(link);
      return item;
    }) : [el("li", "muted", photo.faces.length ? "Nobody named yet." : "No people found.")]);
    const labels = photo.labels.slice(0, 12);
    $("viewer-labels").replaceChildren.apply($("viewer-labels"), labels.length ? labels.map(function (label) {
      const item = el("li", "viewer-label", label.tag);
      if (label.confidence !== null && label.confidence !== undefined) {
        item.append(" ", el("span", "confidence", Number(label.confidence).toFixed(2)));
      }
      return item;
    }) : [el("li", "muted", analysisNote(photo, "aws_rek_tagging", "No labels."))]);
    $("viewer-tags").replaceChildren.apply($("viewer-tags"), photo.tags.length ? photo.tags.map(function (tag) {
      const item = el("li", "tag source-" + tag.source + (tag.auto ? " auto" : ""));
      const link = el("a", "", tag.name);
      link.href = tag.url;
      item.append(link);
      return item;
    }) : [el("li", "muted", "No tags yet.")]);
  }

  function analysisNote(photo, addon, otherwise) {
    const analysis = photo.analyses[addon];
    if (analysis && analysis.status !== "complete") return analysis.title + ": " + analysis.summary;
    return otherwise;
  }

  function render(photo) {
    current = photo;
    image.removeAttribute("src");
    image.srcset = photo.image.srcset;
    image.src = photo.image.src;
    image.alt = photo.alt;
    image.width = photo.image.width;
    image.height = photo.image.height;
    $("viewer-title").textContent = photo.title;
    $("viewer-detail").href = photo.detail_url;
    dialog.dataset.publicId = photo.public_id;
    status.textContent = "";
    renderFaces(photo);
    renderPanel(photo);
    fit();
    // Warm the neighbours, so the next arrow press shows its photo at once.
    [1, -1].forEach(function (step) {
      neighbour(step).then(function (id) { if (id) data(id).catch(function () {}); });
    });
  }

  function viewUrl(publicId) {
    const url = new URL(window.location.href);
    if (publicId) url.searchParams.set("view", publicId);
    else url.searchParams.delete("view");
    return url.pathname + url.search + url.hash;
  }

  async function show(publicId, how) {
    const mine = ++request;
    status.textContent = "Loading…";
    let photo;
    try {
      photo = await data(publicId);
    } catch (error) {
      if (mine === request) status.textContent = error.message;
      return false;
    }
    if (mine !== request) return false;
    render(photo);
    if (how === "push") {
      history.pushState(Object.assign({}, history.state || {}, { viewer: publicId }), "", viewUrl(publicId));
      pushed = true;
    } else if (how === "replace") {
      history.replaceState(Object.assign({}, history.state || {}, { viewer: publicId }), "", viewUrl(publicId));
    }
    return true;
  }

  function open(publicId, how) {
    opener = document.activeElement;
    if (!dialog.open) {
      dialog.showModal();
      document.documentElement.classList.add("viewer-open");
    }
    setPanel(!PHONE.matches);
    $("viewer-close").focus();
    return show(publicId, how);
  }

  // Closing: the focus goes back to the tile of the photo last shown (or what opened the viewer).
  function finish() {
    if (!dialog.open) return;
    dialog.close();
    document.documentElement.classList.remove("viewer-open");
    const tile = current && tileOf(current.public_id);
    const target = tile ? tile.querySelector("a") : opener;
    current = null;
    request++;
    if (target && target.focus) {
      if (tile) tile.scrollIntoView({ block: "nearest" });
      target.focus();
    }
  }

  function close() {
    if (pushed) {
      pushed = false;
      history.back(); // popstate finishes
    } else {
      const state = Object.assign({}, history.state || {});
      delete state.viewer;
      history.replaceState(state, "", viewUrl(null));
      finish();
    }
  }

  function go(step) {
    return neighbour(step).then(function (id) {
      if (id) return show(id, "replace");
      status.textContent = step > 0 ? "This is the oldest photo." : "This is the newest photo.";
      return false;
    });
  }

  function setPanel(on) {
    panel.hidden = !on;
    infoToggle.setAttribute("aria-expanded", on ? "true" : "false");
    dialog.classList.toggle("panel-open", on);
    fit();
  }

  // --- Events.
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest(".tile a");
    if (!link || !grid || !grid.contains(link)) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey || event.button !== 0) return;
    event.preventDefault();
    open(link.closest(".tile").dataset.publicId, "push");
  });
  $("viewer-close").addEventListener("click", close);
  $("viewer-prev").addEventListener("click", function () { go(-1); });
  $("viewer-next").addEventListener("click", function () { go(1); });
  facesToggle.addEventListener("click", function () {
    const on = facesToggle.getAttribute("aria-pressed") !== "true";
    facesToggle.setAttribute("aria-pressed", on ? "true" : "false");
    showFaces(on);
  });
  infoToggle.addEventListener("click", function () { setPanel(panel.hidden); });
  dialog.addEventListener("cancel", function (event) { // Esc
    event.preventDefault();
    close();
  });
  // Tab goes round the viewer's controls: a modal dialog alone would let it leave for the browser's own.
  function trapTab(event) {
    const focusable = Array.prototype.filter.call(
      dialog.querySelectorAll("a[href], button:not([disabled]), [tabindex]:not([tabindex='-1'])"),
      function (node) { return node.offsetParent !== null || node === document.activeElement; });
    if (!focusable.length) return;
    const first = focusable[0], last = focusable[focusable.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  }

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Tab") return trapTab(event);
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    if (event.key === "ArrowRight") { event.preventDefault(); go(1); }
    else if (event.key === "ArrowLeft") { event.preventDefault(); go(-1); }
    else if (event.key === "f" || event.key === "F") { facesToggle.click(); }
  });

  // A swipe (touch or pen; a mouse drags nothing here): left for the next photo, right for the previous one.
  let swipe = null;
  stage.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse") return;
    swipe = { id: event.pointerId, x: event.clientX, y: event.clientY, t: Date.now() };
  });
  stage.addEventListener("pointerup", function (event) {
    if (!swipe || event.pointerId !== swipe.id) return;
    const dx = event.clientX - swipe.x, dy = event.clientY - swipe.y, quick = Date.now() - swipe.t < 800;
    swipe = null;
    if (quick && Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) go(dx < 0 ? 1 : -1);
  });
  stage.addEventListener("pointercancel", function () { swipe = null; });

  window.addEventListener("resize", fit);
  window.addEventListener("popstate", function (event) {
    const wanted = event.state && event.state.viewer;
    if (wanted && !dialog.open) open(wanted, null);
    else if (!wanted && dialog.open) { pushed = false; finish(); }
    else if (wanted && current && wanted !== current.public_id) show(wanted, null);
  });

  // A shared link: ?view=<public_id> opens that photo (the page's link to its detail page is for no script).
  const shared = new URL(window.location.href).searchParams.get("view");
  if (shared) {
    const fallback = $("shared-photo");
    if (fallback) fallback.hidden = true;
    open(shared, "replace");
  }
})();
