// Progress bars of background jobs (design generation, report building): poll the job's small JSON
// endpoint and reload the page when the job finishes, so the page shows what it produced.
(function () {
  "use strict";
  function poll(box) {
    var bar = box.querySelector("progress");
    var step = box.querySelector(".job-step");
    var error = box.querySelector(".job-error");
    fetch(box.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.progress;
        bar.textContent = job.progress + " %";
        step.textContent = job.state === "failed" ? "failed" : (job.step || job.state);
        if (job.error) { error.textContent = job.error; error.hidden = false; }
        if (job.finished) { window.location.reload(); } else { window.setTimeout(function () { poll(box); }, 1000); }
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 3000); });
  }
  // The rendering of the pairings a design needs (the library's Celery tasks): poll until all are ready.
  function pollRendering(box) {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (state) {
        box.querySelector("progress").value = state.ready;
        box.querySelector("strong").textContent = state.ready;
        if (state.ready < state.total) { window.setTimeout(function () { pollRendering(box); }, 2000); }
      })
      .catch(function () { window.setTimeout(function () { pollRendering(box); }, 5000); });
  }
  document.querySelectorAll(".rendering[data-url]").forEach(function (box) {
    if (Number(box.dataset.ready) < Number(box.dataset.total)) { pollRendering(box); }
  });
  document.querySelectorAll(".job[data-job-url]").forEach(function (box) {
    if (box.dataset.finished !== "1") { poll(box); }
  });
})();
