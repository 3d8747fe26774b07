// headwater's web UI: the little the pages need beyond htmx. No eval, no inline scripts
// (the Content-Security-Policy forbids both).
(function () {
  "use strict";

  // A form with data-confirm asks first (Cancel run, ...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // A link with data-panel opens a task's panel in place (one listener for the thousands of
  // links of a large run, where an htmx attribute on each would cost a second to set up).
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey ||
        event.shiftKey || event.altKey || !window.htmx) return;
    var link = event.target.closest && event.target.closest("[data-panel]");
    if (!link) return;
    event.preventDefault();
    window.htmx.ajax("GET", link.getAttribute("data-panel"),
                     {target: "#task-panel", swap: "outerHTML"});
  });

  // "/" jumps to the page's filter box, as on many sites.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var box = document.querySelector("[data-slash-focus]");
    if (box) {
      event.preventDefault();
      box.focus();
    }
  });

  // A task panel opened from the graph or the table takes the keyboard focus; a log that
  // grows stays scrolled to its end if the reader was at the end.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "task-panel") {
      var panel = document.getElementById("task-panel");
      if (panel) panel.focus();
    }
  });
  var stick = true;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var log = document.getElementById("log");
    if (log && event.detail && event.detail.target === log) {
      stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var log = document.getElementById("log");
    if (log && stick && event.detail && event.detail.target === log) {
      log.scrollTop = log.scrollHeight;
    }
  });

  // A large run's parts (data-replace) are put in place as they come: htmx would visit each
  // of their thousands of elements (to clean up, process and settle it), and none needs it:
  // they carry no hx- attributes. What the reader had is kept: where each scrolling frame
  // was scrolled and which link had the keyboard focus, both noted as they happen so that a
  // swap never waits for the browser to lay out the page.
  var scrolled = {};  // a frame's class: [left, top]
  var focusedLink = null;
  document.addEventListener("scroll", function (event) {
    var frame = event.target;
    if (frame && typeof frame.className === "string" && /-frame$/.test(frame.className)) {
      scrolled[frame.className] = [frame.scrollLeft, frame.scrollTop];
    }
  }, true);
  document.addEventListener("focusin", function (event) {
    focusedLink = event.target.getAttribute && event.target.getAttribute("href");
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var detail = event.detail;
    var part = detail && detail.fragment && detail.fragment.firstElementChild;
    if (!part || !part.hasAttribute("data-replace")) return;
    detail.shouldSwap = false;
    var hadFocus = detail.target.contains(document.activeElement);
    detail.target.replaceWith(part);
    Object.keys(scrolled).forEach(function (name) {
      var frame = part.getElementsByClassName(name)[0];
      if (frame) { frame.scrollLeft = scrolled[name][0]; frame.scrollTop = scrolled[name][1]; }
    });
    if (hadFocus && focusedLink) {
      var link = part.querySelector('a[href="' + CSS.escape(focusedLink) + '"]');
      if (link) link.focus({preventScroll: true});
    }
  });
})();
