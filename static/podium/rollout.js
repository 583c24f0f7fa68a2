// The rollout panel's progress-deadline countdown: the server renders the seconds left, this keeps them ticking
// between live updates (each update replaces the element, so it only ever reads data-deadline).
(function () {
  "use strict";
  if (window.podiumCountdown) return;
  window.podiumCountdown = setInterval(function () {
    var now = Date.now() / 1000;
    document.querySelectorAll("time.countdown[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.round(Number(el.dataset.deadline) - now));
      var strings = document.getElementById("podium-strings");
      var unit = (strings && strings.dataset.seconds) || "{n} s";
      el.textContent = unit.replace("{n}", String(left));
    });
  }, 1000);
})();
