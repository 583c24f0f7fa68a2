// Live frames, applied in one go.
//
// The live socket (templates/workloads/_live.html) carries out-of-band swaps: each message is a list of elements,
// each with the id of the element it replaces (workloads/live/consumers.py). htmx's WebSocket extension applies
// them one by one, and fires events for every element swapped so far after each one: a frame of 170 Pod rows cost
// the 1,000-row page ~300-600 ms of main thread (issue 16, P5). So this script, an htmx extension on the socket,
// takes over each element of a message that nothing wires, in the message or in what it replaces (a form that
// posts, a link it loads, the socket itself): it changes the element in place, only where it differs (its
// attributes, its text), with no event per element; the browser then lays out and paints once, at its next frame.
// The wired elements of the same message (the rollout actions, a list's paging links) go to htmx as before.
// Messages are applied in the order they came.
//
// After each message it fires "podium:frame" on the document, with detail {elements: the elements now in the page,
// replaced: those this script replaced (htmx's are not listed), bytes: the message's length}. The live indicator, the counting
// ages and the keyboard's chosen row follow that event.
(function () {
  "use strict";
  // What htmx wires when it processes an element: such elements are htmx's to swap (and to clean up).
  var WIRED = "[hx-get],[hx-post],[hx-put],[hx-patch],[hx-delete],[hx-trigger],[hx-boost],[hx-ext],[ws-connect],"
    + "[ws-send],[sse-connect],[data-hx-get],[data-hx-post],[data-hx-boost],[data-hx-ext]";
  var WIRED_TEXT = /\s(?:data-)?(?:hx-(?!swap-oob=)|ws-|sse-)[\w:-]*=/;

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

  function fire(elements, replaced, size) {
    var detail = {elements: elements, replaced: replaced, bytes: size};
    document.dispatchEvent(new CustomEvent("podium:frame", {detail: detail}));
  }

  // Make ``old`` read as ``fresh`` by changing only what differs (attributes, text), so that the browser restyles
  // and lays out the few nodes that changed rather than a whole new row; false when their shapes differ.
  function morph(old, fresh) {
    if (old.nodeName !== fresh.nodeName) return false;
    var i;
    for (i = old.attributes.length - 1; i >= 0; i--) {
      var name = old.attributes[i].name;
      if (name === "open" && old.nodeName === "DETAILS") continue; // what the reader opened stays open
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

  // Put each of ``elements`` in the place of the element with its id; {elements: those now in the page, replaced:
  // those they replaced}.
  function apply(elements) {
    var swapped = [];
    var replaced = [];
    var focused = document.activeElement;
    var refocus = "";
    elements.forEach(function (element) {
      var old = document.getElementById(element.id);
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
    if (refocus) {
      var again = document.getElementById(refocus);
      if (again) again.focus({preventScroll: true});
    }
    return {elements: swapped, replaced: replaced};
  }

  // The pieces this script applied of the message htmx is handling now; htmx:wsAfterMessage reports them with htmx's.
  var taken = null;

  // An htmx extension on the live socket (hx-ext="ws,podium-frames"): htmx hands it each message before it swaps
  // anything. It applies the pieces that nothing wires, and gives htmx back the rest (the rollout actions, a list's
  // paging links), so that a message that carries both no longer goes to htmx whole: a <details> the reader opened
  // in the header stays open when the rollout panel comes in the same message.
  htmx.defineExtension("podium-frames", {
    transformResponse: function (text, xhr) {
      taken = null;
      if (xhr || typeof text !== "string" || text.charAt(0) === "{") return text; // a control frame: podium.js reads it
      var anyWired = WIRED_TEXT.test(text);
      var mine = [];
      var theirs = [];
      parse(text).forEach(function (element) {
        var old = element.id ? document.getElementById(element.id) : null;
        if (!element.id || (old && wired(old)) || (anyWired && wired(element))) theirs.push(element);
        else mine.push(element);
      });
      if (!mine.length) return text;
      mine.forEach(function (element) { element.removeAttribute("hx-swap-oob"); });
      var rest = theirs.map(function (element) { return element.outerHTML; }).join("");
      taken = apply(mine);
      taken.bytes = text.length;
      return rest;
    },
  });

  document.addEventListener("htmx:wsAfterMessage", function (event) {
    var message = event.detail && event.detail.message;
    if (typeof message !== "string" || message.charAt(0) === "{") return;
    var elements = taken ? taken.elements : [];
    var found;
    OOB_ID.lastIndex = 0;
    while ((found = OOB_ID.exec(message))) {
      var element = document.getElementById(found[1]);
      if (element) elements.push(element);
    }
    fire(elements, taken ? taken.replaced : [], taken ? taken.bytes : message.length);
    taken = null;
  });
})();
