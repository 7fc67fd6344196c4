// Writing as an office writes (#16), for every textarea marked data-editor ("markdown" or "plain"):
// a toolbar, Tab and Esc as in WPS, paste from Word/WPS/Excel converted on the server (/paste),
// unsaved text kept in local storage and offered back, and who else is editing the report.
// Edits go through document.execCommand("insertText") so that the browser's own undo keeps working.
(function () {
  "use strict";

  var INDENT = "\u3000\u3000";  // two full-width spaces, as WPS indents
  // The site's root, from this script's own address (…/static/js/editor.js).
  var ROOT = document.currentScript ? document.currentScript.src.replace(/static\/js\/editor\.js.*$/, "") : "/";
  var lastMarks = [];

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function note(textarea, text) {
    var box = textarea.parentNode.querySelector(".editor-note");
    if (!box) {
      box = document.createElement("p");
      box.className = "editor-note small";
      box.setAttribute("role", "status");
      textarea.insertAdjacentElement("afterend", box);
    }
    box.textContent = text;
  }

  // Replace start..end with text as if typed: one undo step, input event for preview and drafts.
  function replaceRange(textarea, start, end, text, selectFrom, selectTo) {
    textarea.focus();
    textarea.setSelectionRange(start, end);
    var done = false;
    try { done = document.execCommand("insertText", false, text); } catch (e) { done = false; }
    if (!done || textarea.value.substring(start, start + text.length) !== text) {
      textarea.setRangeText(text, start, end, "end");
      textarea.dispatchEvent(new Event("input", {bubbles: true}));
    }
    if (selectFrom !== undefined) {
      textarea.setSelectionRange(start + selectFrom, start + (selectTo === undefined ? selectFrom : selectTo));
    }
  }

  function lineBounds(value, start, end) {
    var from = value.lastIndexOf("\n", start - 1) + 1;
    var to = value.indexOf("\n", end > start && value[end - 1] === "\n" ? end - 1 : end);
    return [from, to === -1 ? value.length : to];
  }

  function wrap(textarea, mark, sample) {
    var start = textarea.selectionStart, end = textarea.selectionEnd, value = textarea.value;
    var chosen = value.substring(start, end);
    if (chosen && chosen.length > 2 * mark.length && chosen.startsWith(mark) && chosen.endsWith(mark)) {
      replaceRange(textarea, start, end, chosen.slice(mark.length, -mark.length), 0, chosen.length - 2 * mark.length);
      return;
    }
    var inner = chosen || sample;
    replaceRange(textarea, start, end, mark + inner + mark, mark.length, mark.length + inner.length);
  }

  // Put a prefix before every line of the selection (or take it away when all lines have it).
  function prefixLines(textarea, makePrefix, pattern) {
    var value = textarea.value;
    var bounds = lineBounds(value, textarea.selectionStart, textarea.selectionEnd);
    var lines = value.substring(bounds[0], bounds[1]).split("\n");
    var all = lines.every(function (line) { return pattern.test(line); });
    var out = lines.map(function (line, i) {
      return all ? line.replace(pattern, "") : makePrefix(i) + line.replace(pattern, "");
    });
    var text = out.join("\n");
    replaceRange(textarea, bounds[0], bounds[1], text, text.length);
  }

  var ACTIONS = {
    bold: function (t) { wrap(t, "**", "加粗的文字"); },
    italic: function (t) { wrap(t, "*", "倾斜的文字"); },
    numbers: function (t) {
      if (t.dataset.editor === "plain") {
        prefixLines(t, function (i) { return (i + 1) + "、"; }, /^\d+、/);
      } else {
        prefixLines(t, function (i) { return (i + 1) + ". "; }, /^\d+\. /);
      }
    },
    bullets: function (t) {
      if (t.dataset.editor === "plain") { prefixLines(t, function () { return "● "; }, /^● /); }
      else { prefixLines(t, function () { return "- "; }, /^- /); }
    },
    quote: function (t) { prefixLines(t, function () { return "> "; }, /^> ?/); },
    undo: function (t) { t.focus(); document.execCommand("undo"); },
    table: function (t) { askTable(t); },
    help: function (t) { showHelp(t); }
  };

  var BUTTONS = [
    ["bold", "加粗", "B", "Ctrl+B", true], ["italic", "倾斜", "I", "Ctrl+I", true],
    ["numbers", "编号列表", "1.", "", false], ["bullets", "项目符号列表", "•", "", false],
    ["table", "插入表格", "▦", "", true], ["quote", "引用", "“”", "", true],
    ["undo", "撤销", "↶", "Ctrl+Z", false], ["help", "格式说明", "?", "", false]
  ];

  function toolbar(textarea) {
    var bar = document.createElement("div");
    bar.className = "editor-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "格式");
    BUTTONS.forEach(function (b) {
      if (textarea.dataset.editor === "plain" && b[4]) { return; }  // plain text: no emphasis or tables
      var button = document.createElement("button");
      button.type = "button";
      button.className = "small tool tool-" + b[0];
      button.dataset.action = b[0];
      // Named by its visible label (the icon is hidden from screen readers): the spoken name is the seen one.
      button.title = b[1] + (b[3] ? "（" + b[3] + "）" : "");
      var icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.className = "tool-icon";
      icon.textContent = b[2];
      var label = document.createElement("span");
      label.className = "tool-label";
      label.textContent = b[1];
      button.append(icon, label);
      bar.appendChild(button);
    });
    // Mousedown would take the focus (and the selection) away from the textarea.
    bar.addEventListener("mousedown", function (event) {
      if (event.target.closest("button")) { event.preventDefault(); }
    });
    bar.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (button) { ACTIONS[button.dataset.action](textarea); }
    });
    return bar;
  }

  function dialog(title) {
    var box = document.createElement("dialog");
    box.className = "editor-dialog";
    box.setAttribute("aria-label", title);
    var heading = document.createElement("h3");
    heading.textContent = title;
    box.appendChild(heading);
    box.addEventListener("close", function () { box.remove(); });
    document.body.appendChild(box);
    return box;
  }

  function askTable(textarea) {
    var box = dialog("插入表格");
    var form = document.createElement("form");
    form.method = "dialog";
    form.innerHTML = '<label>行数（含表头）<input name="rows" type="number" min="2" max="50" value="3" required></label>' +
      '<label>列数<input name="cols" type="number" min="1" max="12" value="3" required></label>' +
      '<div class="edit-actions"><button type="submit" class="primary" value="ok">插入</button> ' +
      '<button type="submit" value="cancel" formnovalidate>取消</button></div>';
    box.appendChild(form);
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    box.addEventListener("close", function () {
      if (box.returnValue !== "ok") { textarea.focus(); return; }
      var rows = Math.min(Math.max(parseInt(form.rows.value, 10) || 3, 2), 50);
      var cols = Math.min(Math.max(parseInt(form.cols.value, 10) || 3, 1), 12);
      var lines = [];
      var head = [], rule = [], empty = [];
      for (var c = 1; c <= cols; c++) { head.push("标题" + c); rule.push("---"); empty.push("  "); }
      lines.push("| " + head.join(" | ") + " |", "| " + rule.join(" | ") + " |");
      for (var r = 1; r < rows; r++) { lines.push("|" + empty.join("|") + "|"); }
      var value = textarea.value;
      var before = start > 0 && value[start - 1] !== "\n" ? "\n" : "";
      var after = end < value.length && value[end] !== "\n" ? "\n" : "";
      var text = before + lines.join("\n") + after;
      replaceRange(textarea, start, end, text, before.length + 2, before.length + 5);
    });
    box.showModal();
    form.rows.focus();
  }

  function showHelp(textarea) {
    var box = dialog("格式说明");
    var body = document.createElement("div");
    body.textContent = "正在载入…";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "关闭";
    close.addEventListener("click", function () { box.close(); textarea.focus(); });
    box.append(body, close);
    box.showModal();
    fetch(ROOT + "format-help", {credentials: "same-origin", headers: {"HX-Request": "true"}})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r); })
      .then(function (html) {
        // The server's own template (its examples rendered and sanitised by the site).
        var doc = new DOMParser().parseFromString(html, "text/html");
        body.replaceChildren.apply(body, Array.from(doc.body.childNodes));
      })
      .catch(function () { body.textContent = "格式说明未能载入，请稍后重试。"; });
  }

  // --- Tab, Esc, Ctrl+B / Ctrl+I --------------------------------------------------------------

  function isTableLine(line) { return /^\s*[|｜]/.test(line); }

  function cellStarts(line) {
    var starts = [];
    for (var i = 0; i < line.length; i++) {
      if ((line[i] === "|" || line[i] === "｜") && line[i - 1] !== "\\") { starts.push(i + 1); }
    }
    return starts;  // the position after each bar; the last bar ends the row
  }

  function selectCell(textarea, lineStart, line, index) {
    var starts = cellStarts(line);
    var from = starts[index], to = starts[index + 1] !== undefined ? starts[index + 1] - 1 : line.length;
    var cell = line.substring(from, to);
    var lead = cell.length - cell.replace(/^\s+/, "").length;
    var content = cell.trim();
    textarea.setSelectionRange(lineStart + from + lead, lineStart + from + lead + content.length);
  }

  // Tab in a table line: the next cell (the next row's first, or a new row at the end of the table).
  function tabInTable(textarea, backwards) {
    var value = textarea.value, pos = textarea.selectionStart;
    var bounds = lineBounds(value, pos, pos);
    var line = value.substring(bounds[0], bounds[1]);
    var starts = cellStarts(line);
    var cells = starts.length - (/[|｜]\s*$/.test(line) ? 1 : 0);
    var index = 0;
    while (index + 1 < starts.length && starts[index + 1] <= pos - bounds[0]) { index++; }
    if (backwards) {
      if (index > 0) { selectCell(textarea, bounds[0], line, index - 1); }
      return;
    }
    if (index + 1 < cells) { selectCell(textarea, bounds[0], line, index + 1); return; }
    var next = bounds[1] + 1;
    while (next < value.length) {
      var nextBounds = lineBounds(value, next, next);
      var nextLine = value.substring(nextBounds[0], nextBounds[1]);
      if (!isTableLine(nextLine)) { break; }
      if (!/^\s*[|｜](\s*:?[-－]+:?\s*[|｜])+\s*$/.test(nextLine)) {
        selectCell(textarea, nextBounds[0], nextLine, 0);
        return;
      }
      next = nextBounds[1] + 1;
    }
    var row = "\n|" + new Array(Math.max(cells, 1) + 1).join("  |");
    var at = next > value.length ? value.length : next - 1;
    replaceRange(textarea, at, at, row, 3);
  }

  document.addEventListener("keydown", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches("textarea[data-editor]")) { return; }
    if (event.key === "Escape") { textarea.dataset.escaped = "1"; return; }
    var escaped = textarea.dataset.escaped === "1";
    delete textarea.dataset.escaped;
    if ((event.ctrlKey || event.metaKey) && !event.altKey && textarea.dataset.editor === "markdown") {
      var key = event.key.toLowerCase();
      if (key === "b" || key === "i") {
        event.preventDefault();
        ACTIONS[key === "b" ? "bold" : "italic"](textarea);
      }
      return;
    }
    if (event.key !== "Tab" || event.ctrlKey || event.altKey || event.metaKey || escaped) { return; }
    event.preventDefault();  // Tab stays in the field (Esc, then Tab, leaves it: WCAG 2.1.2)
    var value = textarea.value, pos = textarea.selectionStart;
    var bounds = lineBounds(value, pos, pos);
    if (isTableLine(value.substring(bounds[0], bounds[1]))) {
      tabInTable(textarea, event.shiftKey);
    } else if (event.shiftKey) {
      if (value.substring(pos - INDENT.length, pos) === INDENT) {
        replaceRange(textarea, pos - INDENT.length, pos, "");
      }
    } else {
      replaceRange(textarea, pos, textarea.selectionEnd, INDENT, INDENT.length);
    }
  });

  // --- Paste ------------------------------------------------------------------------------------

  document.addEventListener("paste", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches("textarea[data-editor]") || !event.clipboardData) { return; }
    var data = event.clipboardData;
    var html = data.getData("text/html"), text = data.getData("text/plain");
    var images = Array.prototype.some.call(data.items || [], function (item) {
      return item.kind === "file" && /^image\//.test(item.type);
    });
    var tabular = /\t/.test(text) && /\S\n+\S/.test(text.trim());
    if (!html && !tabular) {
      if (images && !text) {
        event.preventDefault();
        note(textarea, "图片未粘贴：正文只保存文字和表格，图片请另行报送。");
      }
      return;  // plain text is pasted as it is
    }
    event.preventDefault();
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var body = new FormData();
    body.append("html", html);
    body.append("text", text);
    body.append("mode", textarea.dataset.editor);
    textarea.setAttribute("aria-busy", "true");
    fetch(ROOT + "paste", {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "HX-Request": "true"}
    })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response); })
      .then(function (answer) {
        insertPasted(textarea, start, end, answer.markdown);
        if (answer.notes && answer.notes.length) { note(textarea, answer.notes.join(" ")); }
      })
      .catch(function () {
        insertPasted(textarea, start, end, text);
        note(textarea, "未能转换粘贴内容的格式，已按纯文本粘贴。");
      })
      .finally(function () { textarea.removeAttribute("aria-busy"); });
  });

  function insertPasted(textarea, start, end, markdown) {
    if (!markdown) { return; }
    var value = textarea.value;
    var block = markdown.indexOf("\n") !== -1;
    var before = block && start > 0 && value[start - 1] !== "\n" ? "\n" : "";
    var after = block && end < value.length && value[end] !== "\n" ? "\n" : "";
    var text = before + markdown + after;
    replaceRange(textarea, start, end, text, text.length);
  }

  // --- Unsaved text kept in local storage -----------------------------------------------------

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  var timers = new WeakMap();

  function draftsOf(prefix) {
    var store = storage(), keys = [];
    if (!store) { return keys; }
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf(prefix + ":") === 0) { keys.push(key); }
    }
    return keys;
  }

  function clearDrafts(form) {
    var store = storage();
    clearTimeout(timers.get(form));  // a copy due to be kept after the last keystroke is not wanted now
    if (store && form.dataset.draftKey) { draftsOf(form.dataset.draftKey).forEach(function (k) { store.removeItem(k); }); }
  }

  function keepDraft(form) {
    var store = storage(), textarea = form.querySelector("textarea[name=markdown]");
    if (!store || !textarea || form.dataset.dirty !== "1" || !form.isConnected) { return; }
    var title = form.querySelector("input[name=title]");
    var draft = {markdown: textarea.value, title: title ? title.value : null, version: form.dataset.version,
                 at: Date.now()};
    try {
      draftsOf(form.dataset.draftKey).forEach(function (k) { store.removeItem(k); });
      store.setItem(form.dataset.draftKey + ":" + form.dataset.version, JSON.stringify(draft));
    } catch (e) { /* storage full or refused: the guard on leaving the page still asks */ }
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-draft-key]");
    if (!form) { return; }
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { keepDraft(form); }, 300));
  });

  // Lines of the saved text and of the draft, marked as removed / added (a small LCS, bounded).
  function lineDiff(a, b) {
    var x = a.split("\n"), y = b.split("\n");
    if (x.length * y.length > 250000) { return null; }
    var n = x.length, m = y.length, table = [];
    for (var i = 0; i <= n; i++) { table.push(new Array(m + 1).fill(0)); }
    for (i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        table[i][j] = x[i] === y[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
      }
    }
    var out = [];
    i = 0; j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) { out.push(["same", x[i]]); i++; j++; }
      else if (j < m && (i >= n || table[i][j + 1] >= table[i + 1][j])) { out.push(["add", y[j]]); j++; }
      else { out.push(["del", x[i]]); i++; }
    }
    return out;
  }

  function offerDraft(form) {
    var store = storage(), textarea = form.querySelector("textarea[name=markdown]");
    if (!store || !textarea || form.querySelector(".draft-offer")) { return; }
    var keys = draftsOf(form.dataset.draftKey), draft = null;
    keys.forEach(function (key) {
      try {
        var value = JSON.parse(store.getItem(key));
        if (value && (!draft || value.at > draft.at)) { draft = value; }
      } catch (e) { store.removeItem(key); }
    });
    var title = form.querySelector("input[name=title]");
    if (!draft || (draft.markdown === textarea.value && (!title || draft.title === null || draft.title === title.value))) {
      if (draft) { clearDrafts(form); }
      return;
    }
    var box = document.createElement("div");
    box.className = "draft-offer message warn";
    box.setAttribute("role", "alert");
    var text = document.createElement("p");
    var when = new Date(draft.at).toLocaleString("zh-CN", {hour12: false});
    text.textContent = "发现 " + when + " 在本机编辑、尚未保存的内容" +
      (String(draft.version) !== String(form.dataset.version) ? "（此后已有人保存了新版本，恢复后保存时将显示两者差异）" : "") +
      "。与已保存的正文相比：";
    box.appendChild(text);
    var diff = lineDiff(textarea.value, draft.markdown);
    var list = document.createElement("div");
    list.className = "diff";
    if (diff) {
      diff.forEach(function (line) {
        if (line[0] === "same") { return; }
        var row = document.createElement("div");
        row.className = line[0] === "add" ? "diff-insert" : "diff-delete";
        var mark = document.createElement(line[0] === "add" ? "ins" : "del");
        mark.textContent = line[1] || " ";
        row.appendChild(mark);
        list.appendChild(row);
      });
    } else {
      list.textContent = "（内容较长，未逐行比较）";
    }
    box.appendChild(list);
    var actions = document.createElement("div");
    actions.className = "edit-actions";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "primary";
    restore.textContent = "恢复未保存的内容";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.textContent = "放弃";
    actions.append(restore, discard);
    box.appendChild(actions);
    restore.addEventListener("click", function () {
      if (title && draft.title) { title.value = draft.title; }
      replaceRange(textarea, 0, textarea.value.length, draft.markdown, draft.markdown.length);
      form.dataset.dirty = "1";
      keepDraft(form);
      box.remove();
    });
    discard.addEventListener("click", function () {
      clearDrafts(form);
      box.remove();
      textarea.focus();
    });
    form.insertBefore(box, form.querySelector(".edit-panes") || form.firstChild);
  }

  // --- Who else is editing ----------------------------------------------------------------------

  function leave(form) {
    if (!form.dataset.leave) { return; }
    var body = new FormData();
    body.append("csrf_token", csrfToken());
    if (navigator.sendBeacon) { navigator.sendBeacon(form.dataset.leave, body); }
  }

  function applyMarks(list) {
    if (list) {
      lastMarks = Array.prototype.map.call(list.querySelectorAll("li[data-section-id]"), function (li) {
        return [li.dataset.sectionId, li.textContent];
      });
    }
    document.querySelectorAll(".presence-mark").forEach(function (mark) { mark.remove(); });
    lastMarks.forEach(function (entry) {
      var head = document.querySelector("#section-" + entry[0] + " .section-head");
      if (!head) { return; }
      var mark = document.createElement("span");
      mark.className = "tag presence-mark";
      mark.textContent = entry[1];
      head.appendChild(mark);
    });
  }

  // --- Wiring -----------------------------------------------------------------------------------

  var editorCount = 0;

  function setup(root) {
    root.querySelectorAll("textarea[data-editor]").forEach(function (textarea) {
      if (textarea.dataset.ready) { return; }
      textarea.dataset.ready = "1";
      // A <label> wrapping the textarea would otherwise name the toolbar's first button, not the textarea.
      var label = textarea.closest("label");
      if (label && !label.htmlFor) {
        if (!textarea.id) { textarea.id = "editor-" + (++editorCount); }
        label.htmlFor = textarea.id;
      }
      textarea.parentNode.insertBefore(toolbar(textarea), textarea);
    });
    root.querySelectorAll("form[data-draft-key]").forEach(offerDraft);
    if (root.matches && root.matches("form[data-draft-key]")) { offerDraft(root); }
  }

  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:load", function (event) { setup(event.detail.elt); });
  if (document.readyState !== "loading") { setup(document); }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "presence") {
      applyMarks(event.detail.target.querySelector(".presence-list"));
    } else {
      applyMarks(null);  // a swapped section gets its mark again
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt.closest && elt.closest("form[data-draft-key]");
    if (!form) { return; }
    if (elt.hasAttribute("data-discard")) {
      if (form.dataset.dirty === "1") { clearDrafts(form); }  // the person confirmed: throw it away
      leave(form);
    } else if (elt === form) {
      keepDraft(form);  // saved in the browser before it goes: a failed save loses nothing
    }
  });

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var elt = event.detail.elt, xhr = event.detail.xhr;
    if (xhr.status === 200 && elt.matches && elt.matches("form[data-draft-key]")) {
      clearDrafts(elt);  // saved: the kept copy has done its work
      return;
    }
    if (xhr.status !== 401) { return; }
    var form = elt.closest && elt.closest("form[data-draft-key]");
    if (form && elt === form) {
      // The login expired: keep the text, log in again, and come back to this editor with it.
      keepDraft(form);
      form.dataset.dirty = "";
      var login = new URL(xhr.getResponseHeader("HX-Redirect") || "/login", window.location.href);
      login.searchParams.set("next", new URL(form.getAttribute("action") + "/edit", window.location.href).pathname);
      event.preventDefault();
      window.location.href = login.pathname + login.search;
    } else if (form || elt.id === "presence") {
      event.preventDefault();  // a heartbeat, a preview or a poll: stay, the text is kept
    }
  });

  window.addEventListener("pagehide", function () {
    document.querySelectorAll("form[data-leave]").forEach(leave);
  });
})();
