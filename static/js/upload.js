// Upload page: one request per file, so each file has its own progress bar and its own outcome; then the
// analysis status of each stored file, from the status endpoint the gallery polls (/assets/analysis.json).
// Without this script the form posts and the page answers with the same list.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return; // the plain form still works

  const input = document.getElementById("id_files");
  const dropzone = document.getElementById("dropzone");
  const progressBox = document.getElementById("upload-progress");
  const results = document.getElementById("upload-results");
  const summary = document.getElementById("upload-summary");
  const errorBox = document.getElementById("upload-error");
  const chosen = document.getElementById("chosen");
  const button = document.getElementById("upload-button");
  const maxBytes = parseInt(form.dataset.maxBytes, 10);
  const maxSize = form.dataset.maxSize;
  const statusUrl = form.dataset.statusUrl;
  const parallel = 2;
  const POLL_MS = 1500;
  let queue = [];
  let batch = [];
  const watched = new Map(); // asset id -> row ui, while analysis is pending

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function updateSummary() {
    const done = batch.filter(function (i) { return i.outcome; });
    const uploaded = done.filter(function (i) { return i.outcome === "ok"; }).length;
    const duplicates = done.filter(function (i) { return i.outcome === "duplicate"; }).length;
    const failed = done.length - uploaded - duplicates;
    const parts = [uploaded + " of " + batch.length + " uploaded"];
    if (duplicates) parts.push(duplicates + " already in your library");
    if (failed) parts.push(failed + " failed");
    summary.textContent = parts.join(", ");
  }

  function row(file) {
    const li = el("li", "result pending");
    let thumb;
    if (window.URL && URL.createObjectURL && /^image\/(jpeg|png|gif|webp|avif)$/.test(file.type)) {
      thumb = el("img", "upload-thumb");
      thumb.src = URL.createObjectURL(file);
      thumb.alt = "";
      thumb.width = 48;
      thumb.height = 48;
    } else {
      thumb = el("span", "upload-thumb");
      thumb.setAttribute("aria-hidden", "true");
    }
    const name = el("span", "upload-name", file.name);
    const progress = el("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", "Upload progress of " + file.name);
    const status = el("span", "status", "waiting");
    li.append(thumb, name, progress, status);
    results.append(li);
    return { li: li, thumb: thumb, progress: progress, status: status };
  }

  function link(url, text) {
    const a = el("a", "", text);
    a.href = url;
    return a;
  }

  function finish(item, outcome, message, result) {
    const ui = item.ui;
    item.outcome = outcome;
    ui.li.className = "result " + (outcome === "ok" ? "ok" : outcome);
    ui.progress.remove();
    ui.status.textContent = "";
    if (result && result.thumbnail && ui.thumb.tagName === "SPAN") {
      const img = el("img", "upload-thumb");
      img.src = result.thumbnail;
      img.alt = "";
      img.width = 48;
      img.height = 48;
      ui.thumb.replaceWith(img);
      ui.thumb = img;
    }
    if (outcome === "ok") {
      ui.status.append(link(result.url, "uploaded"));
      if (result.id) {
        ui.analysis = el("ul", "analysis");
        ui.li.append(ui.analysis);
        watched.set(String(result.id), ui);
        poll();
      }
    } else if (outcome === "duplicate") {
      ui.status.append(link(result.url, "already in your library"));
    } else {
      ui.status.append(el("span", "error", message));
    }
    updateSummary();
  }

  function renderAnalysis(ui, analyses) {
    let pending = false;
    ui.analysis.replaceChildren.apply(ui.analysis, Object.keys(analyses).map(function (addon) {
      const status = analyses[addon];
      if (status.status === "pending") pending = true;
      const item = el("li", "addon-status status-" + status.status);
      item.dataset.addon = addon;
      item.textContent = status.title + ": " + status.status;
      if (status.status === "failed" && status.error) item.title = status.error.message;
      return item;
    }));
    return pending;
  }

  let polling = null;
  function poll() {
    if (polling || !watched.size) return;
    polling = setTimeout(async function () {
      polling = null;
      const ids = Array.from(watched.keys()).slice(0, 50);
      try {
        const response = await fetch(statusUrl + "?ids=" + ids.join(","), {
          headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" });
        if (!response.ok) { watched.clear(); return; }
        const body = await response.json();
        body.assets.forEach(function (asset) {
          const ui = watched.get(String(asset.id));
          if (ui && !renderAnalysis(ui, asset.analyses)) watched.delete(String(asset.id));
        });
      } catch (e) { /* a network hiccup: try again */ }
      poll();
    }, POLL_MS);
  }

  function send(item) {
    return new Promise(function (resolve) {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      data.append("tags", form.querySelector("[name=tags]").value);
      form.querySelectorAll("[name=addons]:checked").forEach(function (box) { data.append("addons", box.value); });
      data.append("auto_tagging", form.querySelector("[name=auto_tagging]").value);
      if (form.querySelector("[name=keep_both]").checked) data.append("keep_both", "on");
      data.append("files", item.file, item.file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) {
          item.ui.progress.value = Math.round((event.loaded / event.total) * 100);
          item.ui.status.textContent = item.ui.progress.value + "%";
        }
      };
      xhr.onload = function () {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy error page */ }
        const result = body && body.results && body.results[0];
        if (result) {
          finish(item, result.ok ? "ok" : (result.duplicate ? "duplicate" : "failed"), result.error, result);
        } else if (body && body.error) {
          finish(item, "failed", body.error.message);
        } else {
          finish(item, "failed", "The server answered " + xhr.status + " " + xhr.statusText + ".");
        }
        resolve();
      };
      xhr.onerror = function () {
        finish(item, "failed", "The upload was interrupted; check the connection and try again.");
        resolve();
      };
      item.ui.status.textContent = "uploading";
      xhr.send(data);
    });
  }

  function enqueue(files) {
    Array.prototype.forEach.call(files, function (file) {
      const item = { file: file, ui: row(file), outcome: null };
      batch.push(item);
      if (file.size > maxBytes) {
        finish(item, "failed", file.name + " is larger than the limit of " + maxSize + ".");
        return;
      }
      queue.push(item);
    });
  }

  async function worker() {
    while (queue.length) {
      await send(queue.shift());
    }
  }

  async function start(files) {
    showError("");
    results.replaceChildren();
    batch = [];
    progressBox.hidden = false;
    enqueue(files);
    updateSummary();
    progressBox.scrollIntoView({ block: "nearest" });
    button.disabled = true;
    const workers = [];
    for (let i = 0; i < parallel; i++) workers.push(worker());
    await Promise.all(workers);
    button.disabled = false;
    input.value = "";
    chosen.textContent = "";
  }

  input.addEventListener("change", function () {
    const n = input.files.length;
    chosen.textContent = n ? (n === 1 ? input.files[0].name : n + " files chosen") + "; press Upload." : "";
    if (n) showError("");
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return; // e.g. a threshold above 1: the browser says what is wrong
    if (!input.files.length) {
      showError(errorBox.dataset.empty || "Choose at least one file to upload.");
      input.focus();
      return;
    }
    start(input.files);
  });

  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) {
      event.preventDefault();
      dropzone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    dropzone.addEventListener(type, function () { dropzone.classList.remove("over"); });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    if (event.dataTransfer && event.dataTransfer.files.length) start(event.dataTransfer.files);
  });
})();
