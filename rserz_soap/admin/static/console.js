// Keyboard use of the console: "/" search, "g" + letter sections, j/k rows, Enter opens, x marks, n next page.
(function () {
  "use strict";
  var pendingG = false, gTimer = null;
  function typing(el) {
    if (!el) return false;
    var t = el.tagName;
    return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || el.isContentEditable;
  }
  function rows() {
    var table = document.querySelector("table.nav-rows");
    return table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr")) : [];
  }
  function current() { return document.querySelector("table.nav-rows tbody tr.selected"); }
  function select(delta) {
    var all = rows(); if (!all.length) return;
    var cur = current(), i = cur ? all.indexOf(cur) : -1;
    var next = all[Math.max(0, Math.min(all.length - 1, i + delta))];
    if (cur) cur.classList.remove("selected");
    next.classList.add("selected");
    next.scrollIntoView({ block: "nearest" });
  }
  function go(key) {
    var link = document.querySelector('nav.main a[data-key="' + key + '"]');
    if (link) window.location.href = link.href;
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      var help = document.getElementById("keys-help");
      if (help) help.hidden = true;
      if (document.activeElement) document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement)) return;
    if (pendingG) {
      pendingG = false; clearTimeout(gTimer);
      go(e.key); e.preventDefault(); return;
    }
    switch (e.key) {
      case "/": {
        var box = document.querySelector("[data-search]");
        if (box) { box.focus(); box.select(); } else go("s");
        e.preventDefault(); break;
      }
      case "g": pendingG = true; gTimer = setTimeout(function () { pendingG = false; }, 1200); break;
      case "j": select(1); break;
      case "k": select(-1); break;
      case "Enter": {
        var row = current(), a = row && row.querySelector("a");
        if (a) { window.location.href = a.href; e.preventDefault(); }
        break;
      }
      case "x": {
        var r = current(), box2 = r && r.querySelector('input[type="checkbox"]');
        if (box2) box2.checked = !box2.checked;
        break;
      }
      case "n": { var nxt = document.querySelector("a[data-next]"); if (nxt) window.location.href = nxt.href; break; }
      case "r": { var ref = document.querySelector("a[data-refresh]"); if (ref) window.location.href = ref.href; break; }
      case "?": { var h = document.getElementById("keys-help"); if (h) h.hidden = !h.hidden; break; }
      default: break;
    }
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-check-all")) {
      var table = t.closest("table");
      Array.prototype.forEach.call(table.querySelectorAll('tbody input[type="checkbox"]'), function (b) { b.checked = t.checked; });
    }
  });
})();
