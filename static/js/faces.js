// Face overlay: a face's box and its entry in the list highlight each other on hover and keyboard focus;
// "Show landmarks" reveals the landmark points. When the face analysis completes, the overlay and the list
// are fetched again from the page itself (they are server-rendered), so no markup is duplicated here.
(function () {
  "use strict";
  const figure = document.querySelector(".detail-image");
  if (!figure) return;

  function faces(id) {
    return document.querySelectorAll('[data-face="' + id + '"]');
  }

  function highlight(event, on) {
    const holder = event.target.closest && event.target.closest("[data-face]");
    if (!holder) return;
    faces(holder.dataset.face).forEach(function (node) { node.classList.toggle("highlight", on); });
  }

  ["mouseover", "focusin"].forEach(function (type) {
    document.addEventListener(type, function (event) { highlight(event, true); });
  });
  ["mouseout", "focusout"].forEach(function (type) {
    document.addEventListener(type, function (event) { highlight(event, false); });
  });

  // Enter on a box jumps to its entry in the list, where it can be named.
  document.addEventListener("keydown", function (event) {
    const box = event.target.closest && event.target.closest("g.face");
    if (!box || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    const item = document.querySelector('.face-item[data-face="' + box.dataset.face + '"]');
    if (item) {
      item.focus();
      const input = item.querySelector("input[name=name]");
      if (input) input.focus();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "show-landmarks") figure.classList.toggle("show-landmarks", event.target.checked);
  });

  let facesStatus = (document.querySelector('.addon-status[data-addon="aws_rek_face"] .badge') || {}).textContent;
  document.addEventListener("analysis:updated", async function (event) {
    const status = event.detail.analyses.aws_rek_face && event.detail.analyses.aws_rek_face.status;
    if (!status || status === facesStatus) return;
    facesStatus = status;
    if (status !== "complete") return;
    const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    // The name captions over the boxes too: a face recognised by the analysis shows its name without a reload.
    ["face-overlay", "face-captions", "face-list-section"].forEach(function (id) {
      const fresh = page.getElementById(id);
      const current = document.getElementById(id);
      if (fresh && current) current.replaceWith(document.importNode(fresh, true));
    });
  });
})();
