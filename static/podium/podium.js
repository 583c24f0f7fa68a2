// Podium's small client: everything else is htmx.
//
// The live indicator (#live-indicator): "connecting", "live", "reconnecting", "offline" or "not live" (the socket is
// open but the server says no change can reach it, and why), with the time of the
// last frame (or of the page render). It follows the htmx WebSocket extension's events on the page's live socket
// (templates/workloads/_live.html). On every (re)connect the server sends the page's partials again, so a page
// that says "live" is exact. Without JavaScript the indicator only says when the page was rendered.
(function () {
  "use strict";
  var OFFLINE_AFTER_MS = 10000; // "reconnecting" for this long becomes "offline"
  var failures = 0;
  var lostAt = 0;
  var offlineTimer = null;
  var everOpen = false;
  var state = "static";

  if (window.htmx) {
    // Retry soon and often: 0.25 s, 0.5 s, 1 s, 2 s, then every 2-4 s (the extension's default waits up to 64 s).
    htmx.config.wsReconnectDelay = function (retryCount) {
      var base = Math.min(4000, 250 * Math.pow(2, retryCount));
      return base / 2 + (Math.random() * base) / 2;
    };
  }

  function indicator() {
    return document.getElementById("live-indicator");
  }

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clock(date) {
    return two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  }

  // The page's language: templates/_client_strings.html carries the translations (data-live-*), English otherwise.
  function text(name, english) {
    var strings = document.getElementById("podium-strings");
    return (strings && strings.dataset[name]) || english;
  }
  var LABELS = {
    connecting: ["liveConnecting", "connecting…"],
    live: ["liveLive", "live"],
    reconnecting: ["liveReconnecting", "reconnecting…"],
    offline: ["liveOffline", "offline"],
    notlive: ["liveNotlive", "not live"],
  };
  var reason = ""; // why the page is "not live" though its socket is open (the server says, see consumers.py)

  function render(asOf) {
    var el = indicator();
    if (!el) return;
    el.className = "live live-" + state;
    el.dataset.state = state;
    if (asOf) el.dataset.asOf = String(Math.floor(asOf.getTime() / 1000));
    var shown = el.dataset.asOf ? new Date(Number(el.dataset.asOf) * 1000) : new Date();
    var label = el.querySelector(".live-state");
    var time = el.querySelector("time");
    var words = LABELS[state] ? text(LABELS[state][0], LABELS[state][1]) : "";
    if (label) label.textContent = words + (state === "notlive" && reason ? ": " + reason : "");
    if (time) {
      time.textContent = clock(shown);
      time.dateTime = shown.toISOString();
    }
    el.title =
      state === "live"
        ? text("liveTitleLive", "Following the cluster. Data as of the last update.")
        : (state === "notlive" && reason ? reason + " " : "") +
          text("liveTitleStatic", "Not following the cluster right now: the data is as of the time shown.");
  }

  function setState(next, asOf) {
    state = next;
    render(asOf);
  }

  // The header's pickers go to what they pick (no inline handlers: the Content-Security-Policy refuses them).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("select[data-submit-on-change]") && target.form) {
      target.form.submit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // The server rendered the time in its own zone; show it in the reader's.
    if (document.getElementById("live-socket")) setState("connecting");
  });
  document.addEventListener("htmx:wsConnecting", function () {
    if (!everOpen) setState("connecting");
  });
  document.addEventListener("htmx:wsOpen", function () {
    everOpen = true;
    failures = 0;
    lostAt = 0;
    clearTimeout(offlineTimer);
    // Not "live" yet: the first frame (the whole page again) makes it so.
  });
  // A control frame (JSON, not HTML) from the server: {"live": false, "reason": "..."} while no change can reach
  // the page (its message bus is down). The next HTML frame, the whole page again, makes it live.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = event.detail && event.detail.message;
    if (typeof message !== "string" || message.charAt(0) !== "{") return;
    var control;
    try {
      control = JSON.parse(message);
    } catch (e) {
      return;
    }
    event.preventDefault();
    if (control && control.live === false) {
      reason = String(control.reason || "");
      setState("notlive");
    }
  });
  // A frame applied (static/podium/frames.js), by that script or by htmx.
  document.addEventListener("podium:frame", function () {
    setState("live", new Date());
  });
  document.addEventListener("htmx:wsClose", function (event) {
    failures += 1;
    var detail = event.detail || {};
    var code = detail.event ? detail.event.code : 0;
    // The extension retries by itself only after an abnormal close (1006, 1011, 1012, 1013). A server that
    // says "going away" (1001) is restarting: retry that too. Anything else is final.
    var retrying = [1006, 1011, 1012, 1013].indexOf(code) >= 0;
    // 4503: the server could not follow what the page shows (its message bus, Redis, does not answer; the reason
    // is the close frame's). Not live, and why, while it keeps trying.
    if (code === 4503 && detail.socketWrapper && document.getElementById("live-socket")) {
      reason = String(detail.event.reason || "");
      setState("notlive");
      setTimeout(detail.socketWrapper.reconnect, htmx.config.wsReconnectDelay(failures));
      return;
    }
    if (code === 1001 && detail.socketWrapper && document.getElementById("live-socket")) {
      retrying = true;
      setTimeout(detail.socketWrapper.reconnect, htmx.config.wsReconnectDelay(failures));
    }
    if (!lostAt) {
      lostAt = Date.now();
      clearTimeout(offlineTimer);
      offlineTimer = setTimeout(function () {
        if (lostAt) setState("offline");
      }, OFFLINE_AFTER_MS);
    }
    setState(retrying && Date.now() - lostAt < OFFLINE_AFTER_MS ? "reconnecting" : "offline");
  });
  document.addEventListener("htmx:wsError", function () {
    if (state === "live" || state === "connecting") setState("reconnecting");
  });
  window.addEventListener("offline", function () {
    if (document.getElementById("live-socket")) setState("offline");
  });
})();
