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

  function count(all, now) {
    for (var i = 0; i < all.length; i++) {
      var since = Date.parse(all[i].getAttribute("datetime"));
      if (isNaN(since)) continue;
      var text = age(Math.floor((now - since) / 1000));
      if (all[i].textContent !== text) all[i].textContent = text;
    }
  }

  // Only the ages on screen (and just around it) are counted every second: on a page of 1,000 young Pods, changing
  // every age each second had the browser lay the whole table out again each second (issue 16, P5). An age that
  // comes into view is counted at once.
  var near = new Set();
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(seen, {rootMargin: "300px 0px"}) : null;

  function seen(entries) {
    var fresh = [];
    for (var i = 0; i < entries.length; i++) {
      var element = entries[i].target;
      if (entries[i].isIntersecting && element.isConnected) {
        near.add(element);
        fresh.push(element);
      } else {
        near.delete(element);
        if (!element.isConnected) observer.unobserve(element);
      }
    }
    count(fresh, Date.now() + skew);
  }

  function inside(root) {
    var all = Array.prototype.slice.call(root.querySelectorAll("time[data-age]"));
    if (root.matches && root.matches("time[data-age]")) all.push(root);
    return all;
  }

  function follow(elements) {
    if (!observer) return;
    for (var i = 0; i < elements.length; i++) observer.observe(elements[i]);
  }

  function forget(elements) {
    if (!observer) return;
    for (var i = 0; i < elements.length; i++) {
      observer.unobserve(elements[i]);
      near.delete(elements[i]);
    }
  }

  function tick() {
    if (!observer) return count(document.querySelectorAll("time[data-age]"), Date.now() + skew);
    var shown = [];
    near.forEach(function (element) {
      if (element.isConnected) shown.push(element);
      else forget([element]);
    });
    count(shown, Date.now() + skew);
  }

  // A live frame (static/podium/frames.js): count the ages it brought, follow them, and forget those it replaced.
  function swapped(event) {
    var detail = event.detail || {};
    var now = Date.now() + skew;
    (detail.replaced || []).forEach(function (old) {
      forget(inside(old));
    });
    (detail.elements || []).forEach(function (element) {
      var ages = inside(element);
      count(ages, now);
      follow(ages);
    });
  }

  window.podiumAge = age;
  function followAll() {
    follow(document.querySelectorAll("time[data-age]")); // those followed already stay as they are
  }
  document.addEventListener("DOMContentLoaded", followAll);
  document.addEventListener("htmx:afterSettle", followAll); // a filter, a page of a list, a form's answer
  document.addEventListener("podium:frame", swapped);
  setInterval(tick, 1000);
})();
