// "Report a problem" on the worker pages: sends the form without leaving the page (the study keeps its
// place); without JavaScript the form posts normally and a page links back to the study.
(function () {
  "use strict";
  var form = document.getElementById("problem-form");
  if (!form) return;
  var status = document.getElementById("problem-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Sending…";
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        status.textContent = result.ok ? result.body.message : result.body.error;
        if (result.ok) form.reset();
      })
      .catch(function () {
        status.textContent = "The report could not be sent. Please check your connection and try again.";
      })
      .finally(function () {
        button.disabled = false;
      });
  });
})();
