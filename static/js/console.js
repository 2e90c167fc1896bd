// Small behaviours for the console, loaded under a strict CSP (no inline script, no eval).
"use strict";

(function () {
  // --- Copy buttons: <button data-copy="element-id">; the text stays selectable without JS. ----
  var statusRegion = null;

  function announce(text) {
    if (!statusRegion) {
      statusRegion = document.createElement("div");
      statusRegion.className = "visually-hidden";
      statusRegion.setAttribute("role", "status");
      document.body.appendChild(statusRegion);
    }
    statusRegion.textContent = text;
  }

  function selectContents(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function showCopied(button, label) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = label;
    announce(label);
    window.setTimeout(function () { button.textContent = button.dataset.label; }, 2500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = source.textContent;
    var fallback = function () {
      selectContents(source);
      showCopied(button, "Selected: press Ctrl+C to copy");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { showCopied(button, "Copied"); }, fallback);
    } else {
      fallback();
    }
  });

  // --- Dialogs swapped in by htmx (<dialog data-modal>) open as modals; focus comes back after. --
  var opener = null;

  document.addEventListener("htmx:before:request", function (event) {
    var source = event.detail.ctx.sourceElement;
    if (source && source.closest && !source.closest("dialog")) opener = source;
  });

  // htmx 4 processes each new element after a swap (and the page once), with the element as target.
  document.addEventListener("htmx:after:process", function (event) {
    var root = event.target;
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : root.querySelectorAll("dialog[data-modal]");
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (!dialog.open) dialog.showModal();
      var field = dialog.querySelector("[aria-invalid='true']") || dialog.querySelector("input:not([type='hidden'])");
      if (field) field.focus();
    });
  });

  // "close" doesn't bubble: listen in the capture phase.
  document.addEventListener("close", function (event) {
    if (event.target.matches && event.target.matches("dialog[data-modal]") && opener && document.contains(opener)) {
      opener.focus();
    }
  }, true);

  // --- The "Waiting for Embrace…" indicator on full-page loads of pages that call Embrace. ------
  // htmx requests show it through hx-indicator on <body>; these are plain links and forms.
  var busyPaths = /^\/(apps|tokens)\//;

  function busy() {
    var indicator = document.getElementById("busy");
    if (indicator) indicator.classList.add("is-busy");
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || !busyPaths.test(url.pathname)) return;
    if (url.pathname === window.location.pathname && url.search === window.location.search) return;
    busy();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.method === "dialog") return;
    var url = new URL(form.action, window.location.href);
    if (url.origin === window.location.origin && busyPaths.test(url.pathname)) busy();
  });

  // Coming back through the browser's cache must not leave it spinning.
  window.addEventListener("pageshow", function () {
    var indicator = document.getElementById("busy");
    if (indicator) indicator.classList.remove("is-busy");
  });

  // --- htmx doesn't swap error answers (our own faults; noSwap in base.html): say so instead. ----
  function flash(text) {
    var messages = document.getElementById("messages");
    if (!messages) return;
    var paragraph = document.createElement("p");
    paragraph.className = "flash flash-error";
    paragraph.setAttribute("role", "alert");
    paragraph.textContent = text;
    messages.appendChild(paragraph);
  }

  document.addEventListener("htmx:response:error", function (event) {
    var response = event.detail.ctx.response;
    var reference = response.headers.get("X-Request-ID");
    var what = response.status === 403 ? "That action isn't allowed for your role, or your session expired." : "Something went wrong on our side.";
    flash(what + " Please reload the page and try again." + (reference ? " Reference: " + reference : ""));
  });

  // htmx:error also reports a failed swap or script; only a request that got no answer is meant here.
  document.addEventListener("htmx:error", function (event) {
    var ctx = event.detail.ctx;
    if (!ctx || ctx.response) return;
    flash("The console didn't answer. Check your connection, then try again.");
  });
})();

// --- create page and filter builder (create helper) ---
// Marks that scripts run, so buttons only needed without JavaScript can be hidden by CSS.
document.documentElement.classList.add("js");
// After a builder fragment is swapped in, put keyboard focus where the server says the person is working.
document.addEventListener("htmx:after:settle", function () {
  var status = document.getElementById("builder-status");
  var id = status && status.getAttribute("data-focus");
  var target = id && document.getElementById(id);
  if (status) { status.removeAttribute("data-focus"); }
  if (target && !target.disabled) { target.focus(); }
});
// The JSON view is refreshed with the builder only while it is open; opening it fetches it fresh.
// (A details element re-inserted already open fires "toggle" too: the flag tells that apart.)
document.addEventListener("toggle", function (event) {
  if (event.target.id !== "json-view") { return; }
  var flag = event.target.querySelector("input[name=json_open]");
  if (!flag) { return; }
  var opened = event.target.open && flag.value !== "1";
  flag.value = event.target.open ? "1" : "";
  if (opened && window.htmx && document.getElementById("filter-tree")) { htmx.trigger("#filter-tree", "change"); }
}, true);
// Without htmx, a plain submit of the create form disables its Create button until the page answers.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  if (!button || button.id !== "create-submit") { return; }
  // Disabled after the browser has read the button's name and value into the submission.
  window.setTimeout(function () { if (!event.defaultPrevented) { button.disabled = true; } }, 0);
});
// "Copy as curl": copies the text of the element named by data-copy.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) { return; }
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (source) {
    navigator.clipboard.writeText(source.textContent).then(function () { button.textContent = "Copied"; });
  }
});
// --- end create page ---
