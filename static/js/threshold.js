// Auto-tagging thresholds: a slider beside each number field; the number stays the value sent (empty = no tags).
(function () {
  "use strict";
  document.querySelectorAll("input[data-threshold]").forEach(function (number) {
    const range = document.createElement("input");
    range.type = "range";
    range.min = "0";
    range.max = "1";
    range.step = "0.05";
    range.className = "threshold-range";
    range.setAttribute("aria-hidden", "true"); // the number field is the labelled control
    range.tabIndex = -1;
    function fromNumber() {
      const off = number.value === "" || !number.validity.valid;
      range.classList.toggle("off", number.value === "");
      if (!off) range.value = number.value;
    }
    range.addEventListener("input", function () {
      number.value = range.value;
      range.classList.remove("off");
    });
    number.addEventListener("input", fromNumber);
    fromNumber();
    const wrapper = document.createElement("span");
    wrapper.className = "threshold";
    number.replaceWith(wrapper);
    wrapper.append(range, number);
  });
})();
