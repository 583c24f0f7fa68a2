// Log pages (templates/workloads/logs/): the read itself is server-rendered and works without JavaScript.
// This adds: wrap and timestamp toggles that apply at once, search highlighting as you type, and "Follow",
// which opens the logs socket (workloads/logs/consumers.py) and appends the lines it sends. Every piece of log
// text is put in with textContent, never as markup. The box keeps the last `data-keep` lines.
(function () {
  "use strict";

  // The page's language: templates/_client_strings.html carries the translations (data-logs-*), English otherwise.
  function text(name, english) {
    var strings = document.getElementById("podium-strings");
    return (strings && strings.dataset[name]) || english;
  }

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function init() {
    var box = document.getElementById("log-lines");
    var form = document.getElementById("log-form");
    if (!box || !form) return;
    var keep = Number(box.dataset.keep) || 5000;
    var live = $("[data-log-follow]");
    var showSource = !!$(".log-src", box) || !!$(".log-pods");
    var matches = $(".log-matches");
    var search = $(".log-search", form);
    var paused = false;
    var socket = null;
    var following = false;
    var retries = 0;
    var highlightTimer = null;

    function atBottom() {
      return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    }
    function toBottom() {
      if (!paused) box.scrollTop = box.scrollHeight;
    }
    toBottom();

    // --- toggles ---------------------------------------------------------------------------------------------
    var wrap = form.elements.namedItem("wrap");
    var stamps = form.elements.namedItem("timestamps");
    if (wrap) wrap.addEventListener("change", function () { box.classList.toggle("wrap", wrap.checked); });
    if (stamps) stamps.addEventListener("change", function () { box.classList.toggle("show-ts", stamps.checked); });

    // --- search ----------------------------------------------------------------------------------------------
    // The CSS Custom Highlight API marks matches without touching the lines (no markup from text, ever).
    function highlight() {
      var query = search ? search.value.toLowerCase() : "";
      var count = 0;
      var ranges = [];
      box.querySelectorAll("mark").forEach(function (mark) {
        var span = document.createElement("span");
        span.className = mark.className;
        span.textContent = mark.textContent;
        mark.replaceWith(span);
      });
      if (query) {
        box.querySelectorAll(".log-line .log-text").forEach(function (text) {
          var hit = false;
          var walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
          var node;
          while ((node = walker.nextNode())) {
            var value = node.nodeValue.toLowerCase();
            var at = value.indexOf(query);
            while (at >= 0) {
              hit = true;
              var range = new Range();
              range.setStart(node, at);
              range.setEnd(node, at + query.length);
              ranges.push(range);
              at = value.indexOf(query, at + query.length);
            }
          }
          if (hit) count += 1;
        });
      }
      if (window.CSS && CSS.highlights) {
        if (ranges.length) CSS.highlights.set("log-search", new Highlight(...ranges));
        else CSS.highlights.delete("log-search");
      }
      if (matches) {
        matches.textContent = query ? count + (count === 1 ? " line matches “" : " lines match “") + search.value + "”." : "";
      }
    }
    function highlightSoon() {
      clearTimeout(highlightTimer);
      highlightTimer = setTimeout(highlight, 150);
    }
    if (search) search.addEventListener("input", highlightSoon);

    // --- following ------------------------------------------------------------------------------------------
    if (!live) return;
    live.hidden = false;
    var followButton = $(".log-follow", live);
    var pauseButton = $(".log-pause", live);
    var state = $(".log-state", live);

    function say(text) {
      state.textContent = text;
    }

    function lastStamp() {
      var times = box.querySelectorAll(".log-line time");
      for (var i = times.length - 1; i >= 0; i--) if (times[i].textContent) return times[i].textContent;
      return "";
    }

    function lineElement(line) {
      var div = document.createElement("div");
      div.className = "log-line pc-" + Number(line.k || 0);
      var time = document.createElement("time");
      time.textContent = line.t || "";
      div.appendChild(time);
      if (showSource) {
        var src = document.createElement("span");
        src.className = "log-src";
        src.textContent = line.p + "/" + line.c;
        div.appendChild(src);
      }
      var text = document.createElement("span");
      text.className = "log-text";
      (line.s || []).forEach(function (segment) {
        var span = document.createElement("span");
        span.className = String(segment[0] || "").replace(/[^a-z0-9 -]/g, "");
        span.textContent = segment[1];
        text.appendChild(span);
      });
      div.appendChild(text);
      return div;
    }

    function append(frame) {
      var fragment = document.createDocumentFragment();
      (frame.lines || []).forEach(function (line) { fragment.appendChild(lineElement(line)); });
      box.appendChild(fragment);
      var extra = box.childElementCount - keep;
      if (extra > 0) {
        // One range removal instead of thousands of removeChild calls.
        var range = document.createRange();
        range.setStartBefore(box.firstElementChild);
        range.setEndAfter(box.children[extra - 1]);
        range.deleteContents();
      }
      var empty = $(".log-empty");
      if (empty && box.children.length) empty.remove();
      var notes = (frame.notices || []).slice();
      if (frame.dropped) notes.push(text("logsDropped", "{n} lines dropped: they came faster than the page can show.").replace("{n}", String(frame.dropped)));
      if (notes.length) say(text("logsFollowing", "following") + " · " + notes.join(" · "));
      toBottom();
      if (search && search.value) highlightSoon();
      window.dispatchEvent(new CustomEvent("podium:log-lines", { detail: (frame.lines || []).length }));
    }

    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var url = scheme + location.host + "/ws/logs/?" + live.dataset.logFollow + "&after=" + encodeURIComponent(lastStamp());
      socket = new WebSocket(url);
      say(text("logsConnecting", "connecting…"));
      socket.addEventListener("open", function () {
        retries = 0;
        say(text("logsFollowing", "following"));
        live.dataset.state = "following";
      });
      socket.addEventListener("message", function (event) {
        try {
          append(JSON.parse(event.data));
        } catch (e) {
          // A frame that does not parse is ignored; the next one carries on.
        }
      });
      socket.addEventListener("close", function (event) {
        socket = null;
        live.dataset.state = "stopped";
        if (!following) return;
        if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
          setFollowing(false);
          say(event.code === 4403 ? text("logsStoppedForbidden", "stopped: you may no longer read these logs") : event.code === 4401 ? text("logsStoppedSignedOut", "stopped: signed out") : text("logsStoppedGone", "stopped: no longer in the cluster"));
          return;
        }
        retries += 1;
        say(text("logsReconnecting", "reconnecting…"));
        setTimeout(function () { if (following && !socket) open(); }, Math.min(8000, 250 * Math.pow(2, retries)));
      });
    }

    function setFollowing(on) {
      following = on;
      followButton.setAttribute("aria-pressed", on ? "true" : "false");
      followButton.textContent = on ? text("logsStopFollowing", "Stop following") : text("logsFollow", "Follow");
      pauseButton.disabled = !on;
      if (on && !socket) open();
      if (!on && socket) {
        socket.close(1000);
        socket = null;
        say(text("logsNotFollowing", "not following"));
      }
    }

    followButton.addEventListener("click", function () { setFollowing(!following); });
    pauseButton.addEventListener("click", function () {
      paused = !paused;
      pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
      pauseButton.textContent = paused ? text("logsResume", "Resume auto-scroll") : text("logsPause", "Pause auto-scroll");
      toBottom();
    });
    say(text("logsNotFollowing", "not following"));
  }

  document.addEventListener("DOMContentLoaded", init);
})();
