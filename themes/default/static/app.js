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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(copyButton);
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
