// Follows a re-scoring job: polls its progress JSON every two seconds and fills the <progress> element and the
// texts, until the job is done or failed. No library, no inline script (the pages' CSP allows 'self' only).
(function () {
  "use strict";
  var section = document.getElementById("rescore");
  if (!section) { return; }
  var url = section.getAttribute("data-progress-url");
  var bar = document.getElementById("rescore-progress");
  function show(progress) {
    bar.value = progress.percent;
    bar.textContent = progress.percent + "%";
    document.getElementById("rescore-status").textContent = progress.label;
    document.getElementById("rescore-text").textContent = progress.text;
    document.getElementById("rescore-meetings").textContent = progress.meetings_rescored;
    document.getElementById("rescore-meetings-changed").textContent = progress.meetings_changed;
    document.getElementById("rescore-periods-changed").textContent = progress.periods_changed;
    document.getElementById("rescore-changed").textContent = progress.changed;
    var reason = document.getElementById("rescore-error");
    reason.textContent = progress.reason || "";
    reason.hidden = !progress.reason;
    section.setAttribute("data-status", progress.status);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (progress) { show(progress); }
        if (!progress || !progress.finished) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (section.getAttribute("data-status") !== "done" && section.getAttribute("data-status") !== "failed") {
    window.setTimeout(poll, 1000);
  }
})();
