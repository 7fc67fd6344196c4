// Site behaviour that htmx attributes do not cover: CSRF header, unsaved-edit guard,
// Ctrl+S, dismissible messages, network errors. No inline scripts anywhere (CSP).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function showMessage(text) {
    var box = document.getElementById("messages");
    if (!box) { window.alert(text); return; }
    box.innerHTML = "";
    var div = document.createElement("div");
    div.className = "message error";
    div.setAttribute("role", "alert");
    div.textContent = text;
    box.appendChild(div);
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // Any typing in a guarded form marks it dirty; leaving the page then asks first.
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-guard]");
    if (form) { form.dataset.dirty = "1"; }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-guard]") && !event.target.hasAttribute("hx-post")) {
      event.target.dataset.dirty = "";
    }
  });
  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector('form[data-guard][data-dirty="1"]')) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Cancelling an edit, or a structure change that re-renders the whole document,
  // asks before throwing away unsaved text.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var question = null;
    if (elt.hasAttribute("data-discard")) {
      var form = elt.closest("form[data-guard]");
      if (form && form.dataset.dirty === "1") { question = "您有尚未保存的修改，确定放弃吗？"; }
    } else {
      // A swap whose target holds a dirty editor (other than the one sending) would lose it.
      var target = event.detail.target;
      var dirty = target && target.matches && (target.matches('form[data-guard][data-dirty="1"]') ? target :
        target.querySelector('form[data-guard][data-dirty="1"]'));
      if (dirty && !dirty.contains(elt)) {
        question = (event.detail.question ? event.detail.question + "\n\n" : "") +
          "注意：正在编辑的部分有尚未保存的修改，继续此操作将丢失这些修改。确定继续吗？";
      }
    }
    if (question === null) { return; }
    event.preventDefault();
    if (window.confirm(question)) { event.detail.issueRequest(true); }
  });

  // Ctrl+S (Cmd+S) saves the section being edited instead of saving the web page.
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      var form = document.activeElement && document.activeElement.closest &&
        document.activeElement.closest("form.section-edit");
      if (form) { event.preventDefault(); form.requestSubmit(); }
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.matches("[data-dismiss]")) {
      event.target.closest(".message").remove();
    }
  });

  // Clear old messages before each new request so an error never looks current.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.matches("textarea")) { return; }
    var box = document.getElementById("messages");
    if (box) { box.innerHTML = ""; }
  });

  document.addEventListener("htmx:sendError", function () {
    showMessage("无法连接服务器，操作未完成（内容未保存）。请检查网络后重试。");
  });
  document.addEventListener("htmx:timeout", function () {
    showMessage("服务器响应超时，操作可能未完成。请稍后刷新页面核对。");
  });
})();

document.addEventListener("click", function (event) {
  if (event.target.matches("[data-print]")) { window.print(); }
});

document.addEventListener("focusin", function (event) {
  if (event.target.matches("[data-select-on-focus]")) { event.target.select(); }
});
