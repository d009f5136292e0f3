// Keyboard moderation in the admin's queue: j/k move, a approves, r rejects, x selects a row for a bulk action.
// Each decision is one POST to the queue's own endpoint; the row stays, dimmed and labelled, so the page does not jump.
(function () {
  "use strict";

  const box = document.getElementById("moderation-keys");
  const table = document.getElementById("result_list");
  if (!box || !table) return;
  const canModerate = box.dataset.canModerate === "1";
  const base = box.dataset.base;
  const tokenInput = box.querySelector("input[name=csrfmiddlewaretoken]");
  const status = document.getElementById("moderation-status");
  let current = null;

  const rows = () => Array.from(table.querySelectorAll("tbody tr")).filter((row) => !row.classList.contains("moderated"));
  const pkOf = (row) => row.querySelector("input.action-select")?.value;
  const nameOf = (row) => row.querySelector(".field-tag")?.textContent.trim() || "tag";

  function select(row, focus = true) {
    if (current) {
      current.classList.remove("kb-current");
      current.removeAttribute("aria-current");
    }
    current = row || null;
    if (!current) return;
    current.classList.add("kb-current");
    current.setAttribute("aria-current", "true");
    current.tabIndex = -1;
    if (focus) current.focus({ preventScroll: true });
    current.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const list = rows();
    if (!list.length) return select(null);
    const index = list.indexOf(current);
    const next = index === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    select(list[next]);
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  async function decide(decision) {
    if (!current) return;
    if (!canModerate) return say("You can look, but only moderators can approve or reject.");
    const row = current;
    const pk = pkOf(row);
    if (!pk) return;
    row.classList.add("busy");
    let response;
    try {
      response = await fetch(`${base}${pk}/${decision}/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": tokenInput ? tokenInput.value : "", "X-Requested-With": "fetch" },
      });
    } catch (error) {
      row.classList.remove("busy");
      return say(`Could not reach the server: ${error.message}`);
    }
    row.classList.remove("busy");
    if (!response.ok) {
      return say(response.status === 403 ? "Refused: you do not have the “Can moderate tags” permission."
        : `Could not ${decision} ${nameOf(row)} (${response.status}).`);
    }
    const answer = await response.json();
    const list = rows();
    const next = list[list.indexOf(row) + 1] || list[list.indexOf(row) - 1];
    row.classList.add("moderated", decision === "approve" ? "approved" : "rejected");
    row.dataset.outcome = decision === "approve" ? "approved" : "rejected";
    const checkbox = row.querySelector("input.action-select");
    if (checkbox) {
      checkbox.checked = false;
      checkbox.disabled = true;
      checkbox.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const cell = row.querySelector(".field-review_state");
    if (cell) cell.innerHTML = `<span class="moderation-outcome">${decision === "approve" ? "approved" : "rejected"}</span>`;
    say(`${decision === "approve" ? "Approved" : "Rejected"} “${answer.tag}” on ${answer.asset}.`);
    select(next && next !== row ? next : null);
  }

  function toggle() {
    const checkbox = current?.querySelector("input.action-select");
    if (!checkbox || checkbox.disabled) return;
    checkbox.click(); // through a click, so the admin's own script counts the selection
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest("input:not([type=checkbox]), select, textarea, [contenteditable]")) return;
    const actions = { j: () => move(1), k: () => move(-1), a: () => decide("approve"), r: () => decide("reject"), x: toggle };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  table.addEventListener("click", (event) => {
    const row = event.target.closest("tbody tr");
    if (row && !row.classList.contains("moderated")) select(row, false);
  });

  select(rows()[0], false);
})();
