// The gallery's filters (templates/medialib/gallery.html): folded behind "Filters" on a narrow screen, so that
// the first screen of a phone shows photos; open on a wide one, and whenever a filter is in use. Loaded right
// after the panel, not deferred, so a phone never draws them open first. Without scripts the panel stays open.
(function () {
  var panel = document.currentScript && document.currentScript.previousElementSibling;
  if (!panel || panel.tagName !== "DETAILS") {
    return;
  }
  var wide = window.matchMedia("(min-width: 701px)");
  function fit() {
    if (!panel.hasAttribute("data-active")) {
      panel.open = wide.matches;
    }
  }
  fit();
  if (wide.addEventListener) {
    wide.addEventListener("change", fit);
  }
})();
