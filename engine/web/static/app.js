/* callqa pages: charts from embedded JSON, evidence links that seek the player, sortable tables,
   fragments loaded after the page. No inline scripts (the server's CSP forbids them). */
(function () {
  "use strict";

  function renderPlots() {
    var holder = document.getElementById("plot-data");
    if (!holder || !window.Plotly) return;
    var figures = JSON.parse(holder.textContent);
    Object.keys(figures).forEach(function (id) {
      var div = document.getElementById(id);
      if (!div) return;
      var fig = figures[id];
      window.Plotly.newPlot(div, fig.data || [], fig.layout || {}, { displaylogo: false, responsive: true });
    });
  }

  function seek(link) {
    /* Times are the call's; a clip's player says where in the call it starts (data-offset). */
    var player = document.getElementById("player");
    var start = parseFloat(link.getAttribute("data-seek"));
    if (!player || !isFinite(start)) return false;
    var at = start - (parseFloat(player.getAttribute("data-offset")) || 0);
    if (at < 0 || (player.duration && at > player.duration)) return false;  /* outside the clip */
    player.currentTime = at;
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () { /* autoplay refused: the position is set */ });
    return true;
  }

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return numeric ? -Infinity : "";
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    var number = parseFloat(raw);
    return isFinite(number) ? number : -Infinity;
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-sort") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function loadFragments() {
    document.querySelectorAll("[data-fragment]").forEach(function (holder) {
      fetch(holder.getAttribute("data-fragment"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) { holder.innerHTML = html; })  /* rendered and escaped by the server */
        .catch(function () { holder.textContent = "Could not load this part of the page."; });
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-seek]");
    if (link && seek(link)) { event.preventDefault(); return; }
    var th = event.target.closest("th[data-sort]");
    if (th) sortBy(th);
  });

  document.addEventListener("DOMContentLoaded", function () {
    renderPlots();
    loadFragments();
  });
})();
