// Live frames, applied in one animation frame.
//
// The live socket (templates/workloads/_live.html) carries out-of-band swaps: each message is a list of elements,
// each with the id of the element it replaces (workloads/live/consumers.py). htmx's WebSocket extension applies
// them one by one, and fires events for every element swapped so far after each one: a frame of 170 Pod rows cost
// the 1,000-row page ~300-600 ms of main thread (issue 16, P5). So this script takes a message over when nothing in
// it, or in what it replaces, is htmx's to wire (a form that posts, a link it loads, the socket itself): it parses
// the message at once, keeps only the newest version of each element until the next animation frame, and then
// swaps them all in one go. Any other message (the rollout actions, a list's paging links) goes to htmx as before,
// after whatever this script still holds, so that the page's elements change in the order the server sent them.
//
// After each frame it fires "podium:frame" on the document, with detail {elements: the elements now in the page,
// replaced: those they replaced (none when htmx swapped them), messages, bytes}. The live indicator, the counting
// ages and the keyboard's chosen row follow that event.
(function () {
  "use strict";
  var LATE_MS = 250; // a hidden tab draws no frames: apply anyway after this long
  // What htmx wires when it processes an element: such elements are htmx's to swap (and to clean up).
  var WIRED = "[hx-get],[hx-post],[hx-put],[hx-patch],[hx-delete],[hx-trigger],[hx-boost],[hx-ext],[ws-connect],"
    + "[ws-send],[sse-connect],[data-hx-get],[data-hx-post],[data-hx-boost],[data-hx-ext]";
  var WIRED_TEXT = /\s(?:data-)?(?:hx-(?!swap-oob=)|ws-|sse-)[\w:-]*=/;

  var pending = new Map(); // id -> the newest element for it, in the order first received
  var messages = 0;
  var bytes = 0;
  var frameRequest = 0;
  var lateTimer = 0;

  function wired(element) {
    return element.matches(WIRED) || element.querySelector(WIRED) !== null;
  }

  function parse(message) {
    // A <template> parses what it holds in the mode its first element asks for: a message of <tr> rows alone
    // parses as rows (the server sends rows in messages of their own).
    var template = document.createElement("template");
    template.innerHTML = message;
    return Array.prototype.slice.call(template.content.children);
  }

  var OOB_ID = /<[a-zA-Z][\w-]*\s+hx-swap-oob="true"[^>]*?\sid="([^"]+)"/g; // as workloads/live/pages.py marks them

  function fire(elements, replaced, count, size) {
    var detail = {elements: elements, replaced: replaced, messages: count, bytes: size};
    document.dispatchEvent(new CustomEvent("podium:frame", {detail: detail}));
  }

  // Make ``old`` read as ``fresh`` by changing only what differs (attributes, text), so that the browser restyles
  // and lays out the few nodes that changed rather than a whole new row; false when their shapes differ.
  function morph(old, fresh) {
    if (old.nodeName !== fresh.nodeName) return false;
    var i;
    for (i = old.attributes.length - 1; i >= 0; i--) {
      var name = old.attributes[i].name;
      if (!fresh.hasAttribute(name)) old.removeAttribute(name);
    }
    for (i = 0; i < fresh.attributes.length; i++) {
      var attribute = fresh.attributes[i];
      if (old.getAttribute(attribute.name) !== attribute.value) old.setAttribute(attribute.name, attribute.value);
    }
    var before = old.childNodes;
    var after = fresh.childNodes;
    if (before.length !== after.length) {
      old.replaceChildren.apply(old, Array.prototype.slice.call(after));
      return true;
    }
    for (i = 0; i < after.length; i++) {
      var a = before[i];
      var b = after[i];
      if (a.nodeType !== b.nodeType) {
        old.replaceChild(b.cloneNode(true), a);
      } else if (a.nodeType === 1) {
        if (!morph(a, b)) old.replaceChild(b.cloneNode(true), a);
      } else if (a.nodeValue !== b.nodeValue) {
        a.nodeValue = b.nodeValue;
      }
    }
    return true;
  }

  function flush() {
    if (frameRequest) cancelAnimationFrame(frameRequest);
    if (lateTimer) clearTimeout(lateTimer);
    frameRequest = 0;
    lateTimer = 0;
    if (!pending.size) return;
    var swapped = [];
    var replaced = [];
    var focused = document.activeElement;
    var refocus = "";
    pending.forEach(function (element, id) {
      var old = document.getElementById(id);
      if (!old) {
        // No longer on the page: htmx too swaps nothing then, and says so with this event.
        document.body.dispatchEvent(new CustomEvent("htmx:oobErrorNoTarget", {bubbles: true, detail: {content: element}}));
        return;
      }
      if (morph(old, element)) {
        swapped.push(old);
        return;
      }
      if (focused && focused.id && old.contains(focused)) refocus = focused.id;
      old.replaceWith(element);
      swapped.push(element);
      replaced.push(old);
    });
    var count = messages;
    var size = bytes;
    pending = new Map();
    messages = 0;
    bytes = 0;
    if (refocus) {
      var again = document.getElementById(refocus);
      if (again) again.focus({preventScroll: true});
    }
    fire(swapped, replaced, count, size);
  }

  function schedule() {
    if (frameRequest) return;
    frameRequest = requestAnimationFrame(flush);
    lateTimer = setTimeout(flush, LATE_MS);
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = event.detail && event.detail.message;
    if (typeof message !== "string" || message.charAt(0) === "{") return; // a control frame: podium.js reads it
    if (event.defaultPrevented) return;
    var elements = WIRED_TEXT.test(message) ? null : parse(message);
    if (elements) {
      for (var i = 0; i < elements.length; i++) {
        var old = elements[i].id ? document.getElementById(elements[i].id) : null;
        if (!elements[i].id || (old && wired(old))) {
          elements = null;
          break;
        }
      }
    }
    if (!elements) {
      flush(); // what this script holds came first
      return; // htmx swaps this one
    }
    event.preventDefault();
    for (var j = 0; j < elements.length; j++) {
      elements[j].removeAttribute("hx-swap-oob");
      pending.delete(elements[j].id);
      pending.set(elements[j].id, elements[j]);
    }
    messages += 1;
    bytes += message.length;
    schedule();
  });

  document.addEventListener("htmx:wsAfterMessage", function (event) {
    var message = event.detail && event.detail.message;
    if (typeof message !== "string") return;
    var elements = [];
    var found;
    OOB_ID.lastIndex = 0;
    while ((found = OOB_ID.exec(message))) {
      var element = document.getElementById(found[1]);
      if (element) elements.push(element);
    }
    fire(elements, [], 1, message.length);
  });
})();
