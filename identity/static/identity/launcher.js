// The App Launcher's search, as one types: the same filter the server applies to ?q=
// (in the name or the host, in any case, runs of spaces as one), without reloading the page.
(function () {
  "use strict";
  var input = document.querySelector("[data-launcher-search]");
  var empty = document.getElementById("launcher-empty");
  if (!input || !empty) {
    return;
  }
  var tiles = Array.prototype.slice.call(document.querySelectorAll("[data-launcher-tile]"));
  function normalized(text) {
    return text.split(/\s+/).filter(Boolean).join(" ").slice(0, 100).toLowerCase();
  }
  function filter() {
    var wanted = normalized(input.value);
    var shown = 0;
    tiles.forEach(function (tile) {
      var name = (tile.getAttribute("data-name") || "").toLowerCase();
      var host = (tile.getAttribute("data-host") || "").toLowerCase();
      var match = !wanted || name.indexOf(wanted) !== -1 || host.indexOf(wanted) !== -1;
      tile.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    empty.hidden = shown > 0;
    if (tiles.length) {
      empty.textContent = "No application matches this search.";
    }
  }
  input.addEventListener("input", filter);
})();
