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

  // One accessible confirmation for the whole site (#19), instead of window.confirm: a native <dialog> opened
  // with showModal(), so the browser makes the rest of the page inert (Tab stays inside) and Escape closes it.
  // The question up to its first ？ is the heading that names the dialog; the rest explains. As the WAI-ARIA
  // alert dialog and GOV.UK advise, a destructive action starts on 取消; closing gives the focus back to
  // whatever opened the dialog. Resolves true for 确定.
  function askToConfirm(question, destructive) {
    var opener = document.activeElement;
    var split = /^([^？?]*[？?])\s*([\s\S]*)$/.exec(question);
    var box = document.createElement("dialog");
    box.className = "confirm-dialog";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-labelledby", "confirm-dialog-title");
    var heading = document.createElement("h2");
    heading.id = "confirm-dialog-title";
    heading.textContent = split ? split[1] : question;
    box.appendChild(heading);
    if (split && split[2]) {
      var text = document.createElement("p");
      text.id = "confirm-dialog-text";
      text.textContent = split[2];
      box.setAttribute("aria-describedby", text.id);
      box.appendChild(text);
    }
    var actions = document.createElement("div");
    actions.className = "confirm-actions";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = destructive ? "danger" : "primary";
    yes.textContent = "确定";
    var no = document.createElement("button");
    no.type = "button";
    no.textContent = "取消";
    actions.append(yes, no);  // the positive action first, as everywhere on the site
    box.appendChild(actions);
    document.body.appendChild(box);
    return new Promise(function (resolve) {
      yes.addEventListener("click", function () { box.close("ok"); });
      no.addEventListener("click", function () { box.close("cancel"); });
      // The page behind is inert already; without this wrap Tab past the last button would leave for the
      // browser's own toolbar before coming back.
      box.addEventListener("keydown", function (event) {
        if (event.key !== "Tab") { return; }
        var first = yes, last = no;
        if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
        else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
      });
      box.addEventListener("close", function () {
        box.remove();
        if (opener && opener !== document.body && document.contains(opener)) { opener.focus(); }
        resolve(box.returnValue === "ok");
      });
      box.showModal();
      (destructive ? no : yes).focus();
    });
  }
  window.askToConfirm = askToConfirm;

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

  // Every hx-confirm asks through the site's dialog; cancelling an edit, or a structure change that re-renders
  // the whole document, asks before throwing away unsaved text. Deleting and discarding are destructive.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var question = null, destructive = false;
    if (elt.hasAttribute("data-discard")) {
      var form = elt.closest("form[data-guard]");
      if (form && form.dataset.dirty === "1") { question = "您有尚未保存的修改，确定放弃吗？"; destructive = true; }
    } else {
      question = event.detail.question || null;
      destructive = !!(question && elt.querySelector && elt.querySelector("button.danger"));
      // A swap whose target holds a dirty editor (other than the one sending) would lose it.
      var target = event.detail.target;
      var dirty = target && target.matches && (target.matches('form[data-guard][data-dirty="1"]') ? target :
        target.querySelector('form[data-guard][data-dirty="1"]'));
      if (dirty && !dirty.contains(elt)) {
        question = (question ? question + "\n\n" : "") +
          "注意：正在编辑的部分有尚未保存的修改，继续此操作将丢失这些修改。确定继续吗？";
        destructive = true;
      }
    }
    if (question === null) { return; }
    event.preventDefault();
    askToConfirm(question, destructive).then(function (yes) { if (yes) { event.detail.issueRequest(true); } });
  });

  // Ctrl+S (Cmd+S) saves the section being edited instead of saving the web page.
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      var form = document.activeElement && document.activeElement.closest &&
        document.activeElement.closest("form.section-edit, form.row-form, form.part-form");
      if (form) { event.preventDefault(); form.requestSubmit(); }
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.matches("[data-dismiss]")) {
      event.target.closest(".message").remove();
    }
    // 取消 on a new, never saved row of the 自评表: nothing to fetch, just take the row away.
    if (event.target.matches("[data-remove-row]")) {
      var row = event.target.closest("tr");
      var form = event.target.closest("form[data-guard]");
      // The focus was on the row's 取消: it goes to the row beside, not to <body>.
      var drop = function () {
        var near = row.previousElementSibling || row.nextElementSibling;
        row.remove();
        var button = near && near.querySelector("button, summary");
        if (button) { button.focus(); }
      };
      if (form && form.dataset.dirty === "1") {
        askToConfirm("您有尚未保存的修改，确定放弃吗？", true).then(function (yes) { if (yes) { drop(); } });
      } else {
        drop();
      }
    }
  });

  // Clear old messages before each new request so an error never looks current. Not for the requests a page
  // makes by itself in the background (data-background: the bell, who else is editing): they would wipe out a
  // message, such as why a submission was refused, seconds after it was shown.
  document.addEventListener("htmx:beforeRequest", function (event) {
    // A menu whose item was chosen closes (rows of the 自评表 stay in place after 在下方插入).
    var menu = event.detail.elt.closest && event.detail.elt.closest("details.menu");
    // …but not the menu that is loading its own items as it opens (the 结构 menu of a section).
    if (menu && menu !== event.detail.elt) {
      // Hiding the focused item would drop the focus to <body>: hand it to the menu's summary first.
      var hadFocus = menu.contains(document.activeElement);
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (hadFocus && summary) { summary.focus(); }
    }
    if (event.detail.elt.matches("textarea, [data-preview], [data-background]")) { return; }
    var box = document.getElementById("messages");
    if (box) { box.innerHTML = ""; }
  });

  document.addEventListener("htmx:sendError", function (event) {
    // A background refresh (the bell, who else is editing) tries again on its own; nothing was lost.
    if (event.detail.elt && event.detail.elt.matches("[data-background]")) { return; }
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

// Long exports (PDF, Word) and imports show that they are working. A link marked data-download
// is fetched here so its progress can be shown; without scripts it is an ordinary download link.
(function () {
  "use strict";

  function fileName(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var utf8 = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (utf8) { try { return decodeURIComponent(utf8[1]); } catch (e) { /* fall through */ } }
    var plain = /filename="?([^";]+)"?/i.exec(header);
    return plain ? plain[1] : fallback;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  async function readWithProgress(response, bar) {
    var total = parseInt(response.headers.get("Content-Length") || "0", 10);
    if (!response.body || !response.body.getReader || !total) { return response.blob(); }
    bar.max = total;
    var reader = response.body.getReader();
    var chunks = [];
    var received = 0;
    for (;;) {
      var step = await reader.read();
      if (step.done) { break; }
      chunks.push(step.value);
      received += step.value.length;
      bar.value = received;
    }
    return new Blob(chunks, {type: response.headers.get("Content-Type") || ""});
  }

  async function download(link) {
    var label = link.textContent;
    var bar = document.createElement("progress");
    bar.className = "download-progress";
    bar.setAttribute("aria-label", link.dataset.download);
    link.dataset.busy = "1";
    link.setAttribute("aria-busy", "true");
    link.classList.add("busy");
    link.textContent = link.dataset.download;
    link.after(bar);
    try {
      // As htmx would ask: errors come back as a message fragment for #messages.
      var response = await fetch(link.href, {credentials: "same-origin", headers: {"HX-Request": "true"}});
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) { window.location.href = redirect; return; }
      var box = document.getElementById("messages");
      if (!response.ok) {
        if (box && response.headers.get("HX-Retarget")) {
          box.innerHTML = await response.text();  // the server's own escaped message fragment
        } else {
          window.location.href = link.href;  // let the browser show the server's error page
        }
        return;
      }
      save(await readWithProgress(response, bar), fileName(response, link.href.split("/").pop()));
    } catch (error) {
      window.location.href = link.href;  // network trouble: fall back to a plain download
    } finally {
      bar.remove();
      link.textContent = label;
      link.classList.remove("busy");
      link.removeAttribute("aria-busy");
      delete link.dataset.busy;
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-download]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    if (!window.fetch || !window.URL || !URL.createObjectURL) { return; }
    event.preventDefault();
    if (link.dataset.busy !== "1") { download(link); }
  });

  // A form marked data-busy (the import) shows a working state once it is on its way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-busy]") || event.defaultPrevented) { return; }
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.dataset.label = button.textContent;
        button.textContent = form.dataset.busy;
        button.disabled = true;
      });
      var bar = form.querySelector("progress[data-busy-indicator]");
      if (bar) { bar.hidden = false; }
    }, 0);
  });
  // Coming back with the browser's Back button shows the form ready again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy] button[type=submit][data-label]").forEach(function (button) {
      button.textContent = button.dataset.label;
      button.disabled = false;
    });
    document.querySelectorAll("progress[data-busy-indicator]").forEach(function (bar) { bar.hidden = true; });
  });
})();

// Everyone, every screen (#19): focus that follows htmx swaps, status changes read out, menus and the outline
// usable by keyboard and on phones, wide tables that scroll in their own focusable box.
(function () {
  "use strict";

  // Read out a short status through the page's polite live region (base.html), like GOV.UK's notification banner.
  function announce(text) {
    var box = document.getElementById("sr-status");
    if (!box || !text) { return; }
    box.textContent = "";
    setTimeout(function () { box.textContent = text; }, 50);
  }
  window.announceStatus = announce;

  function focusOn(el) {
    if (!el) { return false; }
    if (!el.matches("a[href], button, input, select, textarea, summary, [tabindex]")) { el.setAttribute("tabindex", "-1"); }
    el.focus({preventScroll: true});
    el.scrollIntoView({block: "nearest"});
    return document.activeElement === el;
  }

  function firstField(root) {
    var text = root.querySelector("textarea[name=markdown]");  // the section's text, not its title above
    if (text) { return text; }
    var fields = root.querySelectorAll("input:not([type=hidden]):not([disabled]), select, textarea");
    for (var i = 0; i < fields.length; i += 1) {
      if (fields[i].offsetParent !== null) { return fields[i]; }
    }
    return null;
  }

  // Where a swap should leave the focus when the element that had it was swapped away: into the editor that
  // opened, back onto the section (its heading) after 保存 or 取消, else onto the new content itself.
  function focusAfterSwap(root) {
    if (!root) { return; }
    var editor = root.matches("form[data-guard]") ? root : root.querySelector("form[data-guard]");
    var conflict = root.matches(".conflict") ? root : root.querySelector(".conflict");
    if (conflict) {
      focusOn(conflict.querySelector("h2, h3, h4, .message, p") || conflict);
    } else if (editor) {
      focusOn(editor.querySelector("[aria-invalid=true]") || firstField(editor) || editor);
    } else {
      focusOn(root.querySelector(".section-title, h1, h2, h3") || root);
    }
  }

  var swap = null;
  var statusBefore = "";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target, active = document.activeElement;
    var badge = document.getElementById("status-badge");
    statusBefore = badge ? badge.textContent.trim() : "";
    swap = null;
    if (!target || !active || active === document.body) { return; }
    // Only when the person was working there: background polls (bell, presence) never take the focus.
    // requestConfig.elt is the element that asked (the form, the button); detail.elt may be the target.
    var source = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
    if (target.contains(active) || source.contains(active)) {
      swap = {id: target.id, source: source, status: event.detail.xhr.status};
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var badge = document.getElementById("status-badge");
    var status = badge ? badge.textContent.trim() : "";
    if (status && statusBefore && status !== statusBefore) { announce("报告状态已改为：" + status); }
    statusBefore = status;
    var done = swap;
    swap = null;
    if (!done) { return; }
    if (done.source.matches && done.source.matches("form.section-edit") && done.status === 200) {
      var title = document.querySelector("#" + done.id + " .section-title");
      announce("已保存：" + (title ? title.textContent.trim() : ""));
    }
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) { return; }
    var root = done.id ? document.getElementById(done.id) : null;
    if (done.id === "report") {
      // A workflow action re-rendered the report: land on its status, which announce() also reads out.
      focusOn(document.querySelector("#workflow .steps") || root);
      return;
    }
    focusAfterSwap(root || document.querySelector("main"));
  });

  // Disclosure menus (<details class="menu">): Escape closes and returns to the summary; opening one moves
  // into its first field, as GOV.UK's and the ARIA practices' disclosures do.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = event.target.closest && event.target.closest("details[open]");
    if (!menu || event.target.matches("textarea[data-editor]")) { return; }
    menu.open = false;
    var summary = menu.querySelector("summary");
    if (summary) { summary.focus(); }
  });
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.menu, details.add-comment") || !menu.open) { return; }
    if (!menu.contains(document.activeElement)) { return; }  // opened by a script, not by the person
    var field = menu.querySelector(".menu-body textarea, .menu-body input:not([type=hidden]), form textarea");
    if (field) { field.focus(); }
  }, true);

  // The outline as a menu on phones (the button shows only on narrow screens, app.css).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".outline-toggle");
    var outline = event.target.closest && event.target.closest(".outline");
    if (toggle) {
      var open = outline.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    } else if (outline && event.target.closest("a") && outline.classList.contains("open")) {
      outline.classList.remove("open");
      outline.querySelector(".outline-toggle").setAttribute("aria-expanded", "false");
    }
  });

  // Wide tables scroll inside their own box; a box that scrolls can be reached and scrolled by keyboard.
  var TABLES = ".prose table, .prose-doc table, .form-doc table, .document-body table, table.list, table.form-edit";
  function scrollBoxes(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(TABLES).forEach(function (table) {
      if (table.parentElement.classList.contains("table-scroll") || table.closest(".summary-table-wrap")) { return; }
      var box = document.createElement("div");
      box.className = "table-scroll";
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    });
    document.querySelectorAll(".table-scroll, .summary-table-wrap").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        var caption = box.querySelector("caption");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", (caption ? caption.textContent.trim() : "表格") + "（可左右滚动）");
        box.dataset.scrollBox = "1";
      } else if (!scrolls && box.dataset.scrollBox) {
        ["tabindex", "role", "aria-label", "data-scroll-box"].forEach(function (name) { box.removeAttribute(name); });
      }
    });
  }
  function setUp() { scrollBoxes(document); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setUp); } else { setUp(); }
  document.addEventListener("htmx:load", function (event) { scrollBoxes(event.detail.elt); });
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(setUp, 150);
  });
})();
