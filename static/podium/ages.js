// Ages keep counting: every <time data-age datetime="..."> shows kubectl's short age (45s, 5m30s, 2d3h), as the
// server's `age` filter writes it (workloads/browse/presenters.py), counted from the server's clock. The server sends a
// row again only when something other than time changed in it (workloads/live/diff.py).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="podium-server-time"]');
  var serverAtLoad = meta ? Date.parse(meta.content) : NaN;
  var skew = isNaN(serverAtLoad) ? 0 : serverAtLoad - Date.now();
  var units = {s: "s", m: "m", h: "h", d: "d", y: "y"};
  try {
    var given = JSON.parse((document.querySelector('meta[name="podium-age-units"]') || {}).content || "{}");
    for (var key in units) if (typeof given[key] === "string") units[key] = given[key];
  } catch (e) {
    // the page's own units stay
  }

  function age(seconds) {
    var s = units.s, m = units.m, h = units.h, d = units.d, y = units.y;
    if (seconds < 0) seconds = 0;
    var minutes = Math.floor(seconds / 60), hours = Math.floor(seconds / 3600), days = Math.floor(seconds / 86400);
    if (seconds < 120) return seconds + s;
    if (minutes < 10) return seconds % 60 ? minutes + m + (seconds % 60) + s : minutes + m;
    if (hours < 3) return minutes + m;
    if (hours < 8) return minutes % 60 ? hours + h + (minutes % 60) + m : hours + h;
    if (hours < 48) return hours + h;
    if (hours < 24 * 8) return hours % 24 ? days + d + (hours % 24) + h : days + d;
    if (days < 365 * 2) return days + d;
    var years = Math.floor(days / 365);
    return days % 365 ? years + y + (days % 365) + d : years + y;
  }

  function tick() {
    var now = Date.now() + skew;
    var all = document.querySelectorAll("time[data-age]");
    for (var i = 0; i < all.length; i++) {
      var since = Date.parse(all[i].getAttribute("datetime"));
      if (isNaN(since)) continue;
      var text = age(Math.floor((now - since) / 1000));
      if (all[i].textContent !== text) all[i].textContent = text;
    }
  }

  window.podiumAge = age;
  document.addEventListener("htmx:wsAfterMessage", tick);
  setInterval(tick, 1000);
})();
