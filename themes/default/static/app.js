// projblog: small enhancements. Every page works without this file; it adds
// the editor's live preview and attachments, and confirmation before
// destructive actions.
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

  // Attachments: the editor's "Attach files" button, files dropped on the
  // text and an image pasted into it are uploaded one by one to the
  // project (POST data-upload, the CSRF token in a header); each answer's
  // Markdown goes in at the cursor, and the "input" event that follows
  // refreshes the live preview. Progress and refusals ("too large", "HTML
  // files cannot be attached") are said in the status region; the text is
  // never touched by a failure. The messages come from data- attributes,
  // in the reader's language, with {name}-style blanks.
  function attachments(box) {
    var textarea = document.getElementById(box.dataset.for);
    var input = box.querySelector('input[type="file"]');
    var status = box.querySelector(".attach-status");
    if (!textarea || !input || !status) return;
    var max = parseInt(box.dataset.max, 10) || 0;
    var queue = Promise.resolve(), busy = 0;

    function fill(msg, vals) {
      return (msg || "").replace(/\{(\w+)\}/g, function (m, k) { return k in vals ? vals[k] : m; });
    }
    function size(n) {
      var units = (box.dataset.units || "bytes|KiB|MiB").split("|");
      function num(x, d) { return x.toLocaleString(document.documentElement.lang || undefined, { maximumFractionDigits: d }); }
      if (n < 1024) return n + "\u00a0" + units[0];
      if (n < 1048576) return num(n / 1024, 0) + "\u00a0" + units[1];
      return num(n / 1048576, 1) + "\u00a0" + units[2];
    }
    // line adds one line to the status region for a file and returns a
    // function that changes it.
    function line() {
      var p = document.createElement("p");
      status.appendChild(p);
      return function (msg, kind) { p.textContent = msg; p.className = kind || ""; };
    }
    // insert puts the Markdown at the cursor: inside a line, as a word of
    // it; at the start of a line, as a paragraph of its own.
    function insert(md) {
      var start = textarea.selectionStart, end = textarea.selectionEnd, v = textarea.value;
      var before = v.slice(0, start), after = v.slice(end), text = md;
      if (before === "" || /\n$/.test(before)) {
        if (before !== "" && !/\n\n$/.test(before)) text = "\n" + text;
        text += /^\n/.test(after) ? "\n" : "\n\n";
      } else {
        if (!/\s$/.test(before)) text = " " + text;
        if (after !== "" && !/^\s/.test(after)) text += " ";
      }
      textarea.setRangeText(text, start, end, "end");
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function upload(file) {
      var say = line();
      var vals = { name: file.name || "file", size: size(file.size), max: box.dataset.maxText, percent: 0 };
      if (max && file.size > max) {
        say(fill(box.dataset.tooBig, vals), "error");
        busy--;
        return Promise.resolve();
      }
      say(fill(box.dataset.uploading, vals), "busy");
      return new Promise(function (resolve) {
        var form = new FormData();
        form.append("file", file, vals.name);
        if (box.dataset.post) form.append("post", box.dataset.post);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", box.dataset.upload);
        xhr.setRequestHeader("X-CSRF-Token", csrfToken(textarea.form));
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.onprogress = function (e) {
          if (!e.lengthComputable) return;
          vals.percent = Math.round(100 * e.loaded / e.total);
          say(fill(box.dataset.progress, vals), "busy");
        };
        xhr.onload = function () {
          var res = null;
          try { res = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
          if (xhr.status === 201 && res && res.markdown) {
            insert(res.markdown);
            say(fill(box.dataset.done, vals), "ok");
          } else {
            vals.reason = (res && res.error) || xhr.statusText || String(xhr.status);
            say(fill(box.dataset.failed, vals), "error");
          }
          resolve();
        };
        xhr.onerror = function () {
          vals.reason = box.dataset.network;
          say(fill(box.dataset.failed, vals), "error");
          resolve();
        };
        xhr.send(form);
      }).then(function () { busy--; });
    }
    function uploadAll(files) {
      files = Array.prototype.slice.call(files);
      if (!files.length) return;
      if (!busy) {
        // A new batch: what went in is in the text; what failed stays
        // said (the last few).
        status.querySelectorAll("p:not(.error)").forEach(function (p) { p.remove(); });
        while (status.children.length > 3) status.removeChild(status.firstChild);
      }
      busy += files.length; // counted from now: queued files are on their way too
      files.forEach(function (f) { queue = queue.then(function () { return upload(f); }); });
    }

    input.addEventListener("change", function () {
      uploadAll(input.files);
      input.value = "";
    });
    function hasFiles(e) {
      return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0;
    }
    ["dragenter", "dragover"].forEach(function (type) {
      textarea.addEventListener(type, function (e) {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        textarea.classList.add("dropping");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      textarea.addEventListener(type, function () { textarea.classList.remove("dropping"); });
    });
    textarea.addEventListener("drop", function (e) {
      textarea.classList.remove("dropping");
      if (!e.dataTransfer || !e.dataTransfer.files || !e.dataTransfer.files.length) return;
      e.preventDefault();
      uploadAll(e.dataTransfer.files);
    });
    // A pasted image (a screenshot) is uploaded; pasted text stays text.
    textarea.addEventListener("paste", function (e) {
      var dt = e.clipboardData;
      if (!dt || !dt.files || !dt.files.length || Array.prototype.indexOf.call(dt.types, "text/plain") >= 0) return;
      e.preventDefault();
      var stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, "-");
      uploadAll(Array.prototype.map.call(dt.files, function (f, i) {
        if (!/^image\.\w+$/.test(f.name)) return f;
        var ext = f.name.slice(f.name.lastIndexOf("."));
        return new File([f], "pasted-" + stamp + (i ? "-" + (i + 1) : "") + ext, { type: f.type });
      }));
    });
    // Saving while a file is on its way would leave its Markdown out.
    if (textarea.form) {
      textarea.form.addEventListener("submit", function (e) {
        if (!busy) return;
        e.preventDefault();
        e.stopImmediatePropagation(); // the text is still unsaved
        line()(box.dataset.wait, "error");
      });
    }
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
    document.querySelectorAll(".attach[data-upload]").forEach(attachments);
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
