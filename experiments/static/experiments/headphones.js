// The headphone check's calibration step: play the reference noise, then confirm the volume is set; only
// then does the first trial appear. (Each trial's own play/answer logic is sound-check.js: the answers
// unlock only once all three sounds have played to the end.)
(function () {
  "use strict";
  var section = document.getElementById("calibration");
  if (!section) return;
  var audio = document.getElementById("calibration-sound");
  var play = document.getElementById("play-calibration");
  var done = document.getElementById("calibrated");
  var trial = document.getElementById("screen-trial");
  play.addEventListener("click", function () {
    audio.currentTime = 0;
    var started = audio.play();
    if (started && typeof started.catch === "function") started.catch(function () {});
  });
  audio.addEventListener("play", function () { done.disabled = false; });
  done.addEventListener("click", function () {
    audio.pause();
    section.hidden = true;
    trial.hidden = false;
  });
  play.dataset.ready = "true";  // the page's tests (and nothing else) wait for this before clicking
})();
