// The library page: "Select all on this page" ticks every item checkbox of the save-set form.
(function () {
  "use strict";
  var button = document.getElementById("select-page");
  if (!button) return;
  var boxes = function () {
    return document.querySelectorAll('input[type="checkbox"][form="save-set"]');
  };
  if (!boxes().length) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var all = Array.prototype.every.call(boxes(), function (b) { return b.checked; });
    Array.prototype.forEach.call(boxes(), function (b) { b.checked = !all; });
    button.textContent = all ? "Select all on this page" : "Clear the selection on this page";
  });
})();
