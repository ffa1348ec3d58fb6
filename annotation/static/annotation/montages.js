// The montages page: a pending or rendering montage polls its detail endpoint (/api/library/montages/<id>/)
// and updates its progress bar and step in place; once ready its video appears, once failed its error and
// the retry button. The page itself is never reloaded.
(function () {
  "use strict";
  var LABELS = { pending: "Pending", rendering: "Rendering", ready: "Ready", failed: "Failed" };
  function poll(card) {
    fetch(card.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (m) {
        var box = card.querySelector(".montage-progress");
        var bar = box.querySelector("progress");
        var badge = card.querySelector(".montage-state");
        bar.value = m.progress;
        bar.textContent = m.progress + " %";
        box.querySelector(".montage-step").textContent = m.step || LABELS[m.state] || m.state;
        badge.textContent = LABELS[m.state] || m.state;
        badge.className = "badge montage-state " + m.state;
        card.dataset.state = m.state;
        if (m.state === "ready") {
          box.hidden = true;
          if (m.video_url) {
            var video = document.createElement("video");
            video.controls = true;
            video.preload = "metadata";
            video.src = m.video_url;
            video.setAttribute("aria-label", "Montage " + m.id);
            card.querySelector(".montage-media").appendChild(video);
          }
        } else if (m.state === "failed") {
          box.hidden = true;
          var error = card.querySelector(".montage-error");
          error.textContent = m.error;
          error.hidden = !m.error;
          card.querySelector(".montage-retry").hidden = false;
        } else {
          window.setTimeout(function () { poll(card); }, 2000);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(card); }, 5000); });
  }
  document.querySelectorAll(".montage[data-url]").forEach(function (card) {
    if (card.dataset.state === "pending" || card.dataset.state === "rendering") { poll(card); }
  });
})();
