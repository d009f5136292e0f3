// Forms with data-confirm ask before they submit (an attribute, not an inline onsubmit: the CSP runs no inline script).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
