// projblog: small enhancements. Every page works without this file; it adds
// the editor's live preview and confirmation before destructive actions.
(function () {
  "use strict";

  function csrfToken(form) {
    var f = form && form.querySelector('input[name="_csrf"]');
    return f ? f.value : "";
  }

  // Live preview: send the body to /preview (server-side rendering, the
  // same sanitiser as a saved post) a moment after typing stops.
  function livePreview(textarea) {
    var target = document.getElementById(textarea.dataset.preview);
    if (!target) return;
    var timer = null, seq = 0;
    function update() {
      var mine = ++seq;
      target.classList.add("stale");
      var body = new URLSearchParams();
      body.set("body", textarea.value);
      fetch("/preview", {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken(textarea.form), "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html, application/json;q=0.5" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (r) {
        return r.text().then(function (t) { return { ok: r.ok, text: t }; });
      }).then(function (res) {
        if (mine !== seq) return;
        target.classList.remove("stale");
        if (res.ok) {
          target.innerHTML = res.text; // sanitised by the server
        } else {
          var msg = res.text;
          try { msg = JSON.parse(res.text).error; } catch (e) { /* not JSON */ }
          target.textContent = msg;
        }
      }).catch(function () { target.classList.remove("stale"); });
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
    if (textarea.value.trim() !== "") update();
  }

  document.documentElement.classList.add("js");

  // Copy buttons: copy the value of the field they name.
  function copyButton(btn) {
    btn.addEventListener("click", function () {
      var field = document.getElementById(btn.dataset.copy);
      if (!field) return;
      var label = btn.textContent;
      function done() {
        btn.textContent = btn.dataset.copied || label;
        setTimeout(function () { btn.textContent = label; }, 1500);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
      } else {
        field.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
      }
    });
  }

  // @mention completion: typing "@ad" in a textarea that names an endpoint
  // in data-mentions offers the project's members whose name or handle
  // starts so; arrows choose, Enter or Tab accepts, Escape closes.
  var mentionSeq = 0;
  function mentions(textarea) {
    var url = textarea.dataset.mentions;
    var id = "mention-list-" + (++mentionSeq);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    textarea.insertAdjacentElement("afterend", list);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", id);
    var items = [], active = -1, start = -1, timer = null, seq = 0;

    function close() {
      list.hidden = true; items = []; active = -1;
      textarea.removeAttribute("aria-activedescendant");
    }
    function mark(i) {
      active = i;
      items.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
      if (i >= 0) textarea.setAttribute("aria-activedescendant", items[i].id);
    }
    function accept(i) {
      var handle = items[i].dataset.handle;
      var before = textarea.value.slice(0, start), after = textarea.value.slice(textarea.selectionStart);
      textarea.value = before + "@" + handle + " " + after;
      var pos = before.length + handle.length + 2;
      textarea.setSelectionRange(pos, pos);
      close();
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function show(people) {
      list.innerHTML = "";
      items = people.map(function (p, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.dataset.handle = p.handle;
        var name = document.createElement("span"); name.textContent = p.name;
        var h = document.createElement("span"); h.className = "handle"; h.textContent = "@" + p.handle;
        li.appendChild(name); li.appendChild(h);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); accept(i); });
        list.appendChild(li);
        return li;
      });
      if (!items.length) { close(); return; }
      list.hidden = false;
      mark(0);
    }
    textarea.addEventListener("input", function () {
      var text = textarea.value.slice(0, textarea.selectionStart);
      var m = /(^|[^\w.@])@([a-z0-9._-]{0,30})$/i.exec(text);
      if (!m) { close(); return; }
      start = text.length - m[2].length - 1;
      clearTimeout(timer);
      var mine = ++seq;
      timer = setTimeout(function () {
        fetch(url + "?q=" + encodeURIComponent(m[2]), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (people) { if (mine === seq) show(people); })
          .catch(close);
      }, 120);
    });
    textarea.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); mark((active + 1) % items.length); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark((active - 1 + items.length) % items.length); }
      else if (e.key === "Enter" || e.key === "Tab") { if (active >= 0) { e.preventDefault(); accept(active); } }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    textarea.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(copyButton);
    document.querySelectorAll("textarea[data-mentions]").forEach(mentions);
    document.querySelectorAll("textarea[data-preview]").forEach(livePreview);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.dataset.confirm)) e.preventDefault();
      });
    });
    // Warn before leaving an editor with unsaved text.
    var editor = document.getElementById("editor");
    if (editor) {
      var dirty = false;
      editor.addEventListener("input", function () { dirty = true; });
      editor.addEventListener("submit", function () { dirty = false; });
      window.addEventListener("beforeunload", function (e) {
        if (dirty) { e.preventDefault(); e.returnValue = ""; }
      });
    }
  });
})();
