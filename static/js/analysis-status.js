// Live analysis status: while the worker has something to do for the assets on the page (add-ons pending),
// ask the server every couple of seconds and update the page in place. Pictures come from delivery URLs, which
// answer whether the worker has made their renditions yet or not, so nothing here waits for them.
// The page is complete without this script: a reload shows the same thing.
(function () {
  "use strict";
  if (!window.fetch) return;
  const INTERVAL_MS = 1500;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function confidenceText(value) {
    return value === null || value === undefined ? "" : Number(value).toFixed(2);
  }

  // Same markup as medialib/templatetags/medialib.py addon_status_items.
  function renderStatuses(list, analyses) {
    list.replaceChildren.apply(list, Object.keys(analyses).map(function (addon) {
      const status = analyses[addon];
      const item = el("li", "addon-status status-" + status.status);
      item.dataset.addon = addon;
      if (status.status === "failed") item.title = status.summary;
      item.append(el("span", "addon-title", status.title), " ", el("span", "badge", status.status), " ",
        el("span", "summary" + (status.status === "failed" ? " error" : ""), status.summary));
      return item;
    }));
  }

  // Calls render only when the data changed, so a focused button is not replaced under the pointer for nothing.
  function renderIfChanged(node, data, render) {
    const key = JSON.stringify(data);
    if (node.dataset.rendered === key) return;
    node.dataset.rendered = key;
    render();
  }

  function poll(url, apply) {
    let state = "waiting"; // waiting, paused (tab hidden), done
    let failures = 0;

    async function tick() {
      if (state === "done") return;
      if (document.hidden) {
        state = "paused";
        return;
      }
      state = "waiting";
      let body;
      try {
        const response = await fetch(url(), { headers: { Accept: "application/json" }, cache: "no-store",
                                               credentials: "same-origin" });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          state = "done"; // logged out or deleted: a reload tells the person more than this script can
          return;
        }
        if (!response.ok) throw new Error(response.status);
        body = await response.json();
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures > 6) state = "done";
        else setTimeout(tick, INTERVAL_MS * Math.pow(2, failures));
        return;
      }
      if (apply(body)) setTimeout(tick, INTERVAL_MS);
      else state = "done";
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && state === "paused") tick();
    });
    setTimeout(tick, INTERVAL_MS);
  }

  // --- The detail page of one asset.
  function detailPage(panel) {
    const statuses = document.getElementById("addon-statuses");
    const none = document.getElementById("analysis-none");
    const labels = document.getElementById("asset-labels");
    const tags = document.getElementById("asset-tags");
    const removeTemplate = document.getElementById("tag-remove-template");

    function renderLabels(analysis) {
      const found = (analysis && analysis.labels) || [];
      if (!found.length) {
        let text = "Not analysed for labels.";
        if (analysis && analysis.status === "pending") text = "Labels appear here when the analysis is done.";
        else if (analysis && analysis.status === "failed") text = "No labels: the analysis failed.";
        else if (analysis) text = "No labels found.";
        labels.replaceChildren(el("li", "muted", text));
        return;
      }
      labels.replaceChildren.apply(labels, found.map(function (label) {
        const item = el("li", "label");
        const meter = el("meter");
        meter.min = 0;
        meter.max = 1;
        meter.value = label.confidence;
        meter.setAttribute("aria-hidden", "true");
        item.append(el("span", "label-name", label.tag), " ", meter, " ",
          el("span", "confidence", confidenceText(label.confidence)));
        return item;
      }));
    }

    function removeForm(tag) {
      const form = removeTemplate.content.firstElementChild.cloneNode(true);
      form.querySelector("[name=name]").value = tag.name;
      const button = form.querySelector("button");
      button.setAttribute("aria-label", "Remove tag " + tag.name + (tag.auto ? "; analysis will not add it back" : ""));
      button.title = tag.auto ? "Remove; analysis will not add it back" : "Remove";
      return form;
    }

    function renderTags(items) {
      if (!items.length) {
        tags.replaceChildren(el("li", "muted", "No tags yet."));
        return;
      }
      tags.replaceChildren.apply(tags, items.map(function (tag) {
        const item = el("li", "tag source-" + tag.source + (tag.auto ? " auto" : ""));
        item.append(el("span", "tag-name", tag.name));
        if (tag.auto) {
          const source = el("small", "tag-source", (tag.source + " " + confidenceText(tag.confidence)).trim());
          source.title = "Added by " + tag.source_title;
          item.append(" ", source);
        }
        // An add-on's tag is rejected, not just removed: only its owner or a moderator may (data-can-reject).
        if (removeTemplate && (!tag.auto || removeTemplate.dataset.canReject === "true")) {
          item.append(" ", removeForm(tag));
        }
        return item;
      }));
    }

    poll(function () { return panel.dataset.statusUrl; }, function (asset) {
      renderIfChanged(statuses, asset.analyses, function () { renderStatuses(statuses, asset.analyses); });
      if (none && Object.keys(asset.analyses).length) none.hidden = true;
      const labelling = asset.analyses.aws_rek_tagging;
      renderIfChanged(labels, labelling || null, function () { renderLabels(labelling); });
      renderIfChanged(tags, asset.tags, function () { renderTags(asset.tags); });
      // Others (the face overlay) redraw themselves from this.
      document.dispatchEvent(new CustomEvent("analysis:updated", { detail: asset }));
      return asset.pending;
    });
  }

  // --- The gallery: one request for every tile still waiting.
  function galleryPage(grid) {
    function tile(id) {
      return grid.querySelector('.tile[data-asset-id="' + id + '"]');
    }

    function renderTags(list, items) {
      list.replaceChildren.apply(list, items.map(function (tag) {
        const item = el("li", "tag source-" + tag.source + (tag.auto ? " auto" : ""), tag.name);
        if (tag.auto) item.title = (tag.source + " " + confidenceText(tag.confidence)).trim();
        return item;
      }));
    }

    function waitingIds() {
      return Array.prototype.map.call(grid.querySelectorAll(".tile[data-pending]"), function (figure) {
        return figure.dataset.assetId;
      });
    }

    // Tiles are quiet: they list the add-ons not complete (pending, failed) and drop the list when none is left.
    function unfinished(analyses) {
      const left = {};
      Object.keys(analyses).forEach(function (addon) {
        if (analyses[addon].status !== "complete") left[addon] = analyses[addon];
      });
      return left;
    }

    let polling = false;
    function start() {
      if (polling || !waitingIds().length) return;
      polling = true;
      poll(function () { return grid.dataset.statusUrl + "?ids=" + waitingIds().join(","); }, function (body) {
        const seen = {};
        body.assets.forEach(function (asset) {
          const figure = tile(asset.id);
          if (!figure) return;
          seen[asset.id] = true;
          const statuses = figure.querySelector(".addon-statuses");
          const left = unfinished(asset.analyses);
          if (statuses && Object.keys(left).length) {
            renderIfChanged(statuses, left, function () { renderStatuses(statuses, left); });
          } else if (statuses) {
            statuses.remove();
          }
          const tags = figure.querySelector(".tags");
          renderIfChanged(tags, asset.tags, function () { renderTags(tags, asset.tags); });
          if (!asset.pending) delete figure.dataset.pending;
        });
        // A tile the server no longer knows (deleted meanwhile) is not asked about again.
        grid.querySelectorAll(".tile[data-pending]").forEach(function (figure) {
          if (!seen[figure.dataset.assetId]) delete figure.dataset.pending;
        });
        polling = waitingIds().length > 0;
        return polling;
      });
    }
    start();
    // The grid's script appends older pages (static/js/photo-grid.js): follow their waiting tiles too.
    document.addEventListener("photogrid:appended", start);
  }

  const panel = document.getElementById("asset-panel");
  if (panel && "pending" in panel.dataset) detailPage(panel);
  const grid = document.getElementById("gallery");
  if (grid && grid.dataset.statusUrl) galleryPage(grid);
})();
