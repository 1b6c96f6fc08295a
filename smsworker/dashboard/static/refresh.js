// Refreshes the overview's numbers every 5 seconds from /api/overview. The page works without it.
(function () {
  var figures = document.getElementById("figures");
  if (!figures || !window.fetch) { return; }
  function refresh() {
    // Said so, so that the page refreshing itself does not keep an idle session alive.
    fetch(figures.getAttribute("data-api"), { credentials: "same-origin", headers: { "X-Smsworker-Refresh": "1" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        figures.querySelectorAll("[data-key]").forEach(function (cell) {
          var key = cell.getAttribute("data-key");
          if (key !== "oldest_age_s" && data[key] !== undefined) { cell.textContent = String(data[key]); }
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
})();
