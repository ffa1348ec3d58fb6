// The sound check: the answers unlock only once the sound has played to its end (no controls, so no
// skipping ahead). Playback needs a click because browsers block autoplay; replaying is allowed.
(function () {
  "use strict";
  var audio = document.getElementById("check-sound");
  var play = document.getElementById("play-check");
  var error = document.getElementById("check-sound-error");
  var submit = document.getElementById("audio-submit");
  if (!audio || !play || !submit) return;
  var questions = document.querySelectorAll(".audio-options");

  play.addEventListener("click", function () {
    audio.currentTime = 0;
    play.disabled = true;
    var started = audio.play();
    if (started && typeof started.catch === "function") {
      started.catch(function () { play.disabled = false; error.hidden = false; });
    }
  });
  audio.addEventListener("ended", function () {
    play.disabled = false;
    play.textContent = "▶ Play it again";
    for (var i = 0; i < questions.length; i++) questions[i].disabled = false;
    submit.disabled = false;
  });
  audio.addEventListener("error", function () {
    play.disabled = false;
    error.hidden = false;
  });
  play.dataset.ready = "true";  // the page's tests (and nothing else) wait for this before clicking
})();
