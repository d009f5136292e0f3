// Autocomplete for search boxes: every input with data-suggest-url gets a list of tags and people (with how many
// photos each is on) for the word being typed. A WAI-ARIA combobox: arrows move, Enter or a click picks, Escape
// closes. In a query box the word at the caret is replaced (quoted when it needs to be); in a filter field
// (data-suggest-kind="tag" or "person") the whole value is. The boxes work without this script.
(function () {
  "use strict";
  if (!window.fetch) return;
  const DELAY_MS = 120;
  const FIELDS = /^(person|tag):/i;
  const OTHER_FIELD = /^(source|status|uploader|date):/i;
  let counter = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The word being typed in a query: where it starts, what comes before the name (-, person:, a quote), the name.
  function wordAt(value, caret) {
    let start = 0;
    let quoted = false;
    for (let i = 0; i < caret; i += 1) {
      const char = value[i];
      if (char === "\\" && quoted) { i += 1; continue; }
      if (char === '"') quoted = !quoted;
      else if (!quoted && (/\s/.test(char) || char === "(" || char === ")")) start = i + 1;
    }
    let word = value.slice(start, caret);
    let prefix = "";
    let kind = "";
    if (word.startsWith("-")) { prefix = "-"; word = word.slice(1); }
    const field = FIELDS.exec(word);
    if (field) { kind = field[1].toLowerCase(); word = word.slice(field[0].length); }
    else if (OTHER_FIELD.test(word) || word === "OR" || word === "AND" || word === "NOT") return null;
    if (word.startsWith('"')) word = word.slice(1).replace(/\\(["\\])/g, "$1");
    if (word.endsWith('"')) return null; // a finished quoted name
    return { start: start, prefix: prefix, kind: kind, text: word };
  }

  function formatCount(count) {
    return Number(count).toLocaleString("en");
  }

  function attach(input) {
    const id = "suggestions-" + (counter += 1);
    const fieldKind = input.dataset.suggestKind || "";
    const list = el("ul", "suggestions");
    list.id = id;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    const status = el("div", "visually-hidden");
    status.setAttribute("role", "status");
    input.after(list, status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);

    let items = [];
    let active = -1;
    let word = null;
    let timer = null;
    let sequence = 0;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function pick(index) {
      const item = items[index];
      if (!item || !word) return;
      if (fieldKind) {
        input.value = item.name;
      } else {
        const caret = input.selectionStart;
        const insert = word.prefix + (word.kind === "tag" ? "tag:" : "") + item.insert + " ";
        const before = input.value.slice(0, word.start) + insert;
        input.value = before + input.value.slice(caret).replace(/^\S*\s?/, "");
        input.setSelectionRange(before.length, before.length);
      }
      close();
      input.focus();
    }

    function show(found) {
      items = found;
      list.replaceChildren.apply(list, found.map(function (item, i) {
        const option = el("li", "suggestion suggestion-" + item.kind);
        option.id = id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.name = item.name;
        option.append(el("span", "suggestion-name", item.name), " ",
          el("span", "suggestion-kind", item.kind === "person" ? "person" : "tag"), " ",
          el("span", "suggestion-count", formatCount(item.count)));
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { pick(i); });
        return option;
      }));
      active = -1;
      list.hidden = !found.length;
      input.setAttribute("aria-expanded", found.length ? "true" : "false");
      status.textContent = found.length ? found.length + " suggestions; use the arrow keys to choose" : "";
    }

    async function load() {
      const caret = input.selectionStart === null ? input.value.length : input.selectionStart;
      word = fieldKind ? { start: 0, prefix: "", kind: fieldKind, text: input.value.trim() }
        : wordAt(input.value, caret);
      if (!word || !word.text.trim()) { close(); return; }
      const mine = (sequence += 1);
      const url = new URL(input.dataset.suggestUrl, window.location.href);
      url.searchParams.set("q", word.text);
      if (word.kind) url.searchParams.set("kind", word.kind);
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(response.status);
        const body = await response.json();
        if (mine === sequence && document.activeElement === input) show(body.suggestions || []);
      } catch (error) {
        if (mine === sequence) close();
      }
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(load, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      const open = !list.hidden && items.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!open) { load(); event.preventDefault(); return; }
        const step = event.key === "ArrowDown" ? 1 : -1;
        highlight(active < 0 ? (step > 0 ? 0 : items.length - 1) : (active + step + items.length) % items.length);
        event.preventDefault();
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        pick(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      } else if (event.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("input[data-suggest-url]").forEach(attach);
})();
