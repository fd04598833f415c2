// On a phone, the longer filters start folded (unless one is in use) so the results come into view sooner.
(function () {
  "use strict";
  var more = document.querySelector("details.more-filters");
  if (more && !more.hasAttribute("data-active") && window.matchMedia &&
      window.matchMedia("(max-width: 48rem)").matches) {
    more.removeAttribute("open");
  }
})();

// Condition suggestions as you type: fills the <datalist> of the condition box from /suggest/conditions.
// The form works without this script; it only adds the suggestions.
(function () {
  "use strict";
  var input = document.getElementById("f-condition");
  var list = document.getElementById("condition-options");
  if (!input || !list || !window.fetch) return;
  var timer = null, last = "", controller = null;
  function fill(items) {
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.text;  // text, never markup
      option.label = item.text + " (" + item.count + (item.count === 1 ? " study)" : " studies)");
      list.appendChild(option);
    });
  }
  function lookup() {
    var typed = input.value.trim();
    if (typed === last) return;
    last = typed;
    if (typed.length < 2) { fill([]); return; }
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    fetch("/suggest/conditions?q=" + encodeURIComponent(typed), controller ? { signal: controller.signal } : {})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(fill)
      .catch(function () { /* a dropped or aborted lookup leaves the box as it is */ });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 150);
  });
})();
