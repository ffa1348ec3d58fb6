// The MTurk completion form: one click submits; if MTurk does not take over the page, the worker can try
// again. A static file, not an inline script, for the strict Content-Security-Policy.
(function () {
  "use strict";
  var form = document.getElementById("mturk-submit-form");
  var button = document.getElementById("mturk-submit-button");
  if (!form || !button) return;
  form.addEventListener("submit", function () {
    button.disabled = true;
    button.textContent = "Submitting…";
    setTimeout(function () {
      button.disabled = false;
      button.textContent = "Submit again";
    }, 8000);
  });
})();
