// Pieces of the grader's pages that any page can use (the grading page uses all of them):
//   VizUI.pin(box, key)        a panel pinned open or folded, remembered in localStorage
//   VizUI.shotViewer()         screenshots (links with data-shot) open full size in a viewer
//   VizUI.keysPause(frames)    keys go to a clicked frame: show it, and give them back
//   VizUI.modalOpen()          a dialog (help, viewer) is open: page keys should do nothing
//   VizUI.Prefetch             fetch a next page, load its live frames hidden, swap it in
//   VizUI.keepFrames(frames)   keep the live frames of the page being left, for a Prefetch of it
(function () {
  "use strict";
  var VizUI = {};

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }
  VizUI.stored = stored;

  VizUI.modalOpen = function () { return !!document.querySelector("dialog[open]"); };

  // A panel with a toggle button ([data-pin-toggle] inside it): pinned open, or folded to its title.
  // The choice is remembered under `key`; pinned by default.
  VizUI.pin = function (box, key) {
    var button = box.querySelector("[data-pin-toggle]");
    function show(pinned) {
      box.classList.toggle("folded", !pinned);
      if (button) {
        button.setAttribute("aria-expanded", pinned ? "true" : "false");
        button.textContent = pinned ? "hide" : "show";
      }
    }
    function toggle() {
      var pinned = box.classList.contains("folded");
      store(key, pinned ? "pinned" : "folded");
      show(pinned);
    }
    show(stored(key) !== "folded");
    if (button) { button.addEventListener("click", toggle); }
    return { toggle: toggle };
  };

  // The screenshot viewer: one <dialog> for the page. Clicking (or Enter on) a link with data-shot
  // opens its image full size; arrows move between the shots of the same .shots list; Esc closes.
  var viewer = null;
  function buildViewer() {
    var dialog = document.createElement("dialog");
    dialog.id = "shot-viewer";
    dialog.className = "shot-viewer";
    dialog.innerHTML =
      '<div class="shot-bar"><button type="button" class="button" data-move="-1" title="previous (←)">←</button>' +
      '<span class="shot-count"></span><button type="button" class="button" data-move="1" title="next (→)">→</button>' +
      '<span class="shot-caption"></span>' +
      '<button type="button" class="button shot-close" title="close (Esc)">Close <span class="muted">Esc</span></button></div>' +
      '<div class="shot-stage"><img alt=""></div>';
    document.body.appendChild(dialog);
    var state = { dialog: dialog, links: [], at: 0 };
    function showAt(index) {
      if (!state.links.length) { return; }
      state.at = (index + state.links.length) % state.links.length;
      var link = state.links[state.at];
      var image = dialog.querySelector("img");
      image.src = link.getAttribute("href");
      image.alt = link.dataset.shot;
      dialog.querySelector(".shot-caption").textContent = link.dataset.shot;
      dialog.querySelector(".shot-count").textContent = (state.at + 1) + " / " + state.links.length;
    }
    state.showAt = showAt;
    dialog.addEventListener("click", function (event) {
      var move = event.target.closest("[data-move]");
      if (move) { showAt(state.at + parseInt(move.dataset.move, 10)); return; }
      if (event.target.closest(".shot-close") || event.target === dialog) { dialog.close(); }
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        event.stopPropagation();
        showAt(state.at + (event.key === "ArrowLeft" ? -1 : 1));
      }
    });
    return state;
  }
  VizUI.shotViewer = function () {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-shot]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
      event.preventDefault();
      viewer = viewer || buildViewer();
      var list = link.closest(".shots") || document;
      viewer.links = Array.prototype.slice.call(list.querySelectorAll("a[data-shot]"));
      viewer.showAt(viewer.links.indexOf(link));
      if (!viewer.dialog.open) { viewer.dialog.showModal(); }
    });
  };

  // A click into a frame from another origin gives it the keyboard, and its key presses never reach
  // this page. When that happens (the window loses focus to one of `selector`), show a bar that says
  // so; the keys come back as soon as the pointer is over the page again (or on a tap on the bar).
  VizUI.keysPause = function (selector, onChange) {
    var bar = document.createElement("div");
    bar.id = "keys-paused";
    bar.className = "keys-paused";
    bar.hidden = true;
    bar.setAttribute("role", "status");
    bar.innerHTML = "<b>Keys paused</b>: the live chart has the keyboard. Move the pointer off the chart " +
      "(or tap here) to use the keys again.";
    document.body.appendChild(bar);
    var paused = false;
    function set(value) {
      if (value === paused) { return; }
      paused = value;
      bar.hidden = !value;
      document.documentElement.classList.toggle("keys-are-paused", value);
      if (onChange) { onChange(value); }
    }
    function resume() {
      if (!paused) { return; }
      var frame = document.activeElement;
      if (frame && frame.tagName === "IFRAME") { frame.blur(); }
      window.focus();
      set(false);
    }
    window.addEventListener("blur", function () {
      // the frame is the active element once the blur has happened
      window.setTimeout(function () {
        var active = document.activeElement;
        if (!active || active.tagName !== "IFRAME") { return; }
        if (active.matches(selector)) { set(true); return; }
        active.blur();  // any other frame (a hidden prefetched one) has no business with the keys
        window.focus();
      }, 0);
    });
    window.addEventListener("focus", function () { set(false); });
    document.addEventListener("pointermove", function (event) {
      if (paused && !(event.target.matches && event.target.matches(selector))) { resume(); }
    });
    bar.addEventListener("click", resume);
    return { resume: resume, paused: function () { return paused; } };
  };

  // Prefetch the page at `url`: its HTML, its screenshots, and its live frames (every element of the
  // page matching `frameSelector`), each loaded in a hidden frame. swap() then puts the page in place
  // of this one without a navigation: every [data-swap] element takes the new page's children, the
  // hidden frames (already loaded) take the places of the new page's frames (moved with moveBefore,
  // which keeps them loaded), and the URL is pushed. `keep`: frames of a page left earlier, still
  // loaded (see VizUI.keepFrames); one with the right src is used instead of loading it again.
  function Prefetch(url, frameSelector, keep) {
    var self = this;
    self.url = url;
    self.doc = null;
    self.frames = [];
    self.failed = false;
    self.ready = fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (text) {
      self.doc = new DOMParser().parseFromString(text, "text/html");
      Array.prototype.forEach.call(self.doc.querySelectorAll("a[data-shot]"), function (link) {
        new Image().src = link.getAttribute("href");
      });
      var lives = self.doc.querySelectorAll(frameSelector);
      if (!lives.length || typeof Element.prototype.moveBefore !== "function") { return self; }
      return Promise.all(Array.prototype.map.call(lives, function (live) {
        var src = live.getAttribute("src");
        var kept = (keep || []).filter(function (frame) {
          return frame.getAttribute("src") === src && frame.parentNode && self.frames.indexOf(frame) < 0;
        })[0];
        if (kept) {
          self.frames.push(kept);
          return null;
        }
        var frame = document.createElement("iframe");
        Array.prototype.forEach.call(live.attributes, function (attribute) {
          if (attribute.name !== "src" && attribute.name !== "id") { frame.setAttribute(attribute.name, attribute.value); }
        });
        hide(frame);
        self.frames.push(frame);
        return new Promise(function (resolve) {
          frame.addEventListener("load", function () { frame.dataset.loaded = "yes"; resolve(); }, { once: true });
          frame.src = src;
          document.body.appendChild(frame);
        });
      })).then(function () { return self; });
    }).catch(function () { self.failed = true; return self; });
  }
  function hide(frame) {
    frame.setAttribute("tabindex", "-1");
    frame.setAttribute("aria-hidden", "true");
    frame.style.transform = "";
    frame.className = "prefetch-frame";
  }
  Prefetch.prototype.discard = function (keep) {
    this.frames.forEach(function (frame) {
      if ((keep || []).indexOf(frame) < 0 && frame.parentNode) { frame.parentNode.removeChild(frame); }
    });
    this.frames = [];
  };
  // Put the fetched page in place; returns false (nothing changed) when it is not fetched yet.
  Prefetch.prototype.swap = function (frameSelector) {
    if (!this.doc) { return false; }
    var doc = this.doc;
    var unused = this.frames.slice();
    var slots = [];
    Array.prototype.forEach.call(doc.querySelectorAll(frameSelector), function (live) {
      var at = unused.map(function (frame) { return frame.getAttribute("src"); }).indexOf(live.getAttribute("src"));
      if (at < 0) { return; }
      slots.push({ frame: unused.splice(at, 1)[0], parent: live.parentNode, next: live.nextSibling, id: live.id,
        tabindex: live.getAttribute("tabindex") });
      live.parentNode.removeChild(live);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-swap]"), function (here) {
      var there = doc.querySelector('[data-swap="' + here.dataset.swap + '"]');
      if (!there) { return; }
      var nodes = Array.prototype.slice.call(there.childNodes).map(function (node) { return document.adoptNode(node); });
      here.replaceChildren.apply(here, nodes);
    });
    slots.forEach(function (slot) {
      var frame = slot.frame;
      slot.parent.moveBefore(frame, slot.next);
      frame.className = "";
      if (slot.id) { frame.id = slot.id; }
      frame.removeAttribute("aria-hidden");
      if (slot.tabindex === null) { frame.removeAttribute("tabindex"); } else { frame.setAttribute("tabindex", slot.tabindex); }
    });
    unused.forEach(function (frame) { if (frame.parentNode) { frame.parentNode.removeChild(frame); } });
    this.frames = [];
    document.title = doc.title;
    window.history.pushState({ swapped: true }, "", this.url);
    return true;
  };
  VizUI.Prefetch = Prefetch;

  // Before a swap: the live frames of the page being left, moved out of it hidden and still loaded,
  // for a Prefetch of that page (its `keep`) to use again; a Prefetch's discard() removes them.
  VizUI.keepFrames = function (frameSelector) {
    if (typeof Element.prototype.moveBefore !== "function") { return []; }
    return Array.prototype.map.call(document.querySelectorAll(frameSelector), function (frame) {
      document.body.moveBefore(frame, null);
      frame.removeAttribute("id");
      hide(frame);
      return frame;
    });
  };

  window.VizUI = VizUI;
  // <script src="/static/ui.js" data-shots>: a page with nothing else to set up gets the viewer
  if (document.currentScript && document.currentScript.hasAttribute("data-shots")) { VizUI.shotViewer(); }
})();
