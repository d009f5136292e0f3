// Upload page: one request per file, so each file has its own progress bar and its own outcome.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return; // the plain form still works

  const input = document.getElementById("id_files");
  const dropzone = document.getElementById("dropzone");
  const results = document.getElementById("upload-results");
  const button = document.getElementById("upload-button");
  const maxBytes = parseInt(form.dataset.maxBytes, 10);
  const parallel = 2;
  let queue = [];

  function row(file) {
    const li = document.createElement("li");
    li.className = "result pending";
    const name = document.createElement("strong");
    name.textContent = file.name;
    const progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", "Upload progress of " + file.name);
    const status = document.createElement("span");
    status.className = "status";
    status.textContent = "waiting";
    li.append(name, " ", progress, " ", status);
    results.append(li);
    return { li, progress, status };
  }

  function finish(ui, ok, message, url) {
    ui.li.className = "result " + (ok ? "ok" : "failed");
    ui.progress.value = 100;
    ui.status.textContent = "";
    if (ok && url) {
      const link = document.createElement("a");
      link.href = url;
      link.textContent = "uploaded";
      ui.status.append(link);
    } else {
      const span = document.createElement("span");
      span.className = ok ? "" : "error";
      span.textContent = message;
      ui.status.append(span);
    }
  }

  function send(item) {
    return new Promise(function (resolve) {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      data.append("tags", form.querySelector("[name=tags]").value);
      form.querySelectorAll("[name=addons]:checked").forEach(function (box) { data.append("addons", box.value); });
      data.append("auto_tagging", form.querySelector("[name=auto_tagging]").value);
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
          finish(item.ui, result.ok, result.error, result.url);
        } else if (body && body.error) {
          finish(item.ui, false, body.error.message);
        } else {
          finish(item.ui, false, "The server answered " + xhr.status + " " + xhr.statusText + ".");
        }
        resolve();
      };
      xhr.onerror = function () {
        finish(item.ui, false, "The upload was interrupted; check the connection and try again.");
        resolve();
      };
      item.ui.status.textContent = "uploading";
      xhr.send(data);
    });
  }

  function enqueue(files) {
    Array.prototype.forEach.call(files, function (file) {
      const ui = row(file);
      if (file.size > maxBytes) {
        finish(ui, false, file.name + " is larger than the limit of " + maxBytes.toLocaleString() + " bytes.");
        return;
      }
      queue.push({ file: file, ui: ui });
    });
  }

  async function worker() {
    while (queue.length) {
      await send(queue.shift());
    }
  }

  async function start(files) {
    enqueue(files);
    button.disabled = true;
    const workers = [];
    for (let i = 0; i < parallel; i++) workers.push(worker());
    await Promise.all(workers);
    button.disabled = false;
    input.value = "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return; // e.g. a threshold above 1: the browser says what is wrong
    if (!input.files.length) {
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
