// The sound check: the options unlock once the sound has played to the end (playback needs a click:
// browsers block autoplay). A static file, not an inline script, for the strict Content-Security-Policy.
(function () {
  "use strict";
  var audio = document.getElementById("check-sound");
  document.getElementById("play-check").addEventListener("click", function () {
    audio.currentTime = 0;
    audio.play();
  });
  audio.addEventListener("ended", function () {
    document.getElementById("audio-options").disabled = false;
  });
})();
