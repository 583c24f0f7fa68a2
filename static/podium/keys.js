// Keyboard shortcuts (the list is templates/_shortcuts.html, shown with "?"):
//   /      focus the page's filter or search field
//   g o    the overview            g w   the current cluster's workloads
//   j / k  next / previous row of the page's first table of links; Enter opens it
//   e      edit (this workload, or the chosen row's)      l   logs (this workload or Pod, or the chosen row's)
//   ?      the list of shortcuts (Esc closes it)
// Links and buttons that a key stands for say so with aria-keyshortcuts; a key does nothing while a field has the
// focus (Esc leaves the field), with a modifier held, or while a dialog is open. Live swaps never move the focus.
(function () {
  "use strict";
  var PENDING_MS = 1500; // how long "g" waits for its second key
  var pendingG = 0;
  var currentId = "";

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function shortcut(keys) {
    return document.querySelector('[aria-keyshortcuts="' + keys + '"]');
  }

  function go(link) {
    if (link && link.href) window.location.assign(link.href);
  }

  function filterField() {
    return (
      document.querySelector("main input[name=q]") ||
      document.querySelector("main input.log-search") ||
      document.querySelector("main input[type=search]")
    );
  }

  // The rows j/k move through: those of the page's tables that hold a link.
  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll("main table tbody tr"), function (row) {
      return row.id && row.querySelector("a[href]") && row.offsetParent !== null;
    });
  }

  function currentRow() {
    return currentId ? document.getElementById(currentId) : null;
  }

  function choose(row) {
    var before = currentRow();
    if (before) before.classList.remove("kb-current");
    if (!row) return;
    currentId = row.id;
    row.classList.add("kb-current");
    var link = row.querySelector("a[href]");
    if (link) link.focus(); // the focus ring shows where it is; Enter follows the link
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(currentRow());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    choose(all[next]);
  }

  // A chosen row's own page, with a suffix (edit/, logs/): workloads and Pods have both.
  function rowPage(suffix) {
    var row = currentRow();
    var link = row && row.querySelector("a[href]");
    if (!link) return "";
    if (suffix === "edit/" && row.id.indexOf("workload-") !== 0) return "";
    return link.href.replace(/[?#].*$/, "") + suffix;
  }

  function help() {
    return document.getElementById("shortcuts-help");
  }

  function openHelp() {
    var dialog = help();
    if (dialog && !dialog.open) dialog.showModal();
  }

  // A live swap replaces a chosen row with a new element of the same id: it stays chosen (the focus is not moved).
  function rechoose() {
    var row = currentRow();
    if (row) row.classList.add("kb-current");
  }
  document.addEventListener("htmx:afterSettle", rechoose);
  document.addEventListener("htmx:oobAfterSwap", rechoose);
  document.addEventListener("podium:frame", rechoose);

  document.addEventListener("click", function (event) {
    var opener = event.target && event.target.closest && event.target.closest(".shortcuts-open");
    if (opener) openHelp();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      // Esc leaves a field, so the shortcuts work again (a dialog's Esc is the dialog's).
      if (event.key === "Escape" && !event.target.closest("dialog")) event.target.blur();
      return;
    }
    var dialog = help();
    if (dialog && dialog.open) return; // the dialog's own keys: Tab, Enter, Esc
    var key = event.key;
    if (pendingG && Date.now() - pendingG < PENDING_MS) {
      pendingG = 0;
      if (key === "o" || key === "w") {
        event.preventDefault();
        go(shortcut("g " + key));
      }
      return;
    }
    pendingG = 0;
    if (key === "g") {
      pendingG = Date.now();
    } else if (key === "/") {
      var field = filterField();
      if (field) {
        event.preventDefault();
        field.focus();
        if (field.select) field.select();
      }
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "Enter") {
      // On a chosen row whose link lost the focus (a live swap replaced it): open it.
      var row = currentRow();
      if (row && (document.activeElement === document.body || document.activeElement === row)) {
        event.preventDefault();
        go(row.querySelector("a[href]"));
      }
    } else if (key === "e" || key === "l") {
      var target = rowPage(key === "e" ? "edit/" : "logs/");
      var link = shortcut(key);
      if (target) {
        event.preventDefault();
        window.location.assign(target);
      } else if (link) {
        event.preventDefault();
        go(link);
      }
    } else if (key === "?") {
      event.preventDefault();
      openHelp();
    }
  });
})();
