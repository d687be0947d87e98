// The grading page: hotkeys, tabs, help, and submitting through POST /api/grades.
// The next items are prefetched (static/ui.js): after Enter or S the next item is swapped in
// without a navigation, its live frame already loaded. The item before (where ArrowLeft leads) is
// prefetched too; when it is the item just left, its live frame is kept, still loaded, and only its
// page is fetched again (it may have been graded since). bind() wires up each item's page.
(function () {
  "use strict";
  var UI = window.VizUI;
  var data, rubric, form, notes, message, help, pin, flagButton;
  var busy = false;
  var ahead = {};  // url -> VizUI.Prefetch of that item's page
  var left = null;  // {url, frames}: the item just left by a swap, its live frame kept hidden
  var PREFETCH_FOR_MS = 10 * 60 * 1000;  // an older prefetch may be out of date: navigate instead
  var prefetchOn = UI.stored("vizhub-prefetch") !== "off";

  // Go to another item: swap in its prefetched page if there is one, else navigate.
  function go(url, flash) {
    if (!url) { return; }
    var found = ahead[url];
    if (found && found.doc && Date.now() - found.at < PREFETCH_FOR_MS) {
      dropLeft();
      left = { url: data.url, frames: UI.keepFrames("#live") };
      found.swap("#live");
      delete ahead[url];
      delete document.documentElement.dataset.prefetched;
      bind();
      if (flash) { showFlash(flash); }
      window.scrollTo(0, 0);
      whenUsable(false);
      return true;
    }
    if (flash) {
      try { window.sessionStorage.setItem("vizhub-flash", flash); } catch (e) { /* private mode */ }
    }
    window.location.assign(url);
    return false;
  }

  function showFlash(text) {
    var box = document.getElementById("flash");
    box.textContent = text;
    box.hidden = false;
  }

  // The page is usable once its live frame has loaded: mark it (the benchmark and tests wait for
  // it), then prefetch where Enter (the next ungraded item) and S (the next item) lead.
  // (`loaded`: the window's load event, which waits for the frame, has fired for this item.)
  function whenUsable(loaded) {
    var frame = document.getElementById("live");
    var item = data.item;
    function usable() {
      if (data.item !== item) { return; }
      document.documentElement.dataset.usable = item;
      prefetch();
    }
    if (frame && loaded === true) { frame.dataset.loaded = "yes"; }  // (a frame kept for ArrowLeft is known loaded)
    if (!frame || frame.dataset.loaded === "yes") { usable(); return; }
    frame.addEventListener("load", function () { frame.dataset.loaded = "yes"; usable(); }, { once: true });
  }

  // The kept frames of the item just left, unless a prefetch of it has taken them.
  function dropLeft() {
    if (!left) { return; }
    var taken = [];
    Object.keys(ahead).forEach(function (url) { taken = taken.concat(ahead[url].frames); });
    left.frames.forEach(function (frame) {
      if (taken.indexOf(frame) < 0 && frame.parentNode) { frame.parentNode.removeChild(frame); }
    });
    left = null;
  }

  // Prefetches still wanted from this item are kept (with their frames), the others dropped.
  function prefetch() {
    if (!prefetchOn) { dropLeft(); return; }
    var item = data.item;
    var urls = [data.nextUrl ? data.nextOpenUrl : null, data.nextUrl, data.prevUrl].filter(function (url, index, all) {
      return url && url !== data.url && all.indexOf(url) === index;
    });
    if (left && urls.indexOf(left.url) < 0) { dropLeft(); }
    Object.keys(ahead).forEach(function (url) {
      var old = ahead[url];
      if (urls.indexOf(url) < 0 || old.failed || Date.now() - old.at >= PREFETCH_FOR_MS) {
        old.discard();
        delete ahead[url];
      }
    });
    urls.forEach(function (url) {
      var fetched = ahead[url] || new UI.Prefetch(url, "#live", left && left.url === url ? left.frames : null);
      fetched.at = fetched.at || Date.now();
      ahead[url] = fetched;
      fetched.ready.then(function () {
        if (left && left.url === url) { dropLeft(); }  // taken, or not of use (its output changed)
        if (data.item !== item || ahead[url] !== fetched || !fetched.doc) { return; }
        var done = (document.documentElement.dataset.prefetched || "").split(" ").filter(Boolean);
        done.push(url);
        document.documentElement.dataset.prefetched = done.join(" ");
      });
    });
  }

  // This tab's grading session (sessionStorage): when it started, what was graded, skipped, flagged.
  var SESSION_KEY = "vizhub-session";
  function loadSession() {
    var state = null;
    try { state = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || "null"); } catch (e) { state = null; }
    if (!state || typeof state.started !== "number") {
      state = { started: Date.now(), graded: [], skipped: [], flagged: {} };
    }
    return state;
  }
  function saveSession() {
    try { window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)); } catch (e) { /* private mode */ }
  }
  function remember(list, id) { if (list.indexOf(id) < 0) { list.push(id); } }
  function forget(list, id) { var at = list.indexOf(id); if (at >= 0) { list.splice(at, 1); } }
  var session = loadSession();
  saveSession();

  function showFlag() {
    var on = Object.prototype.hasOwnProperty.call(session.flagged, data.item);
    flagButton.setAttribute("aria-pressed", on ? "true" : "false");
    flagButton.firstChild.textContent = on ? "Flagged " : "Flag ";
  }
  function toggleFlag() {
    if (Object.prototype.hasOwnProperty.call(session.flagged, data.item)) {
      delete session.flagged[data.item];
      say("Flag removed.", "");
    } else {
      session.flagged[data.item] = { url: data.url, label: data.label };
      say("Flagged: it is listed in the session summary to come back to.", "ok");
    }
    saveSession();
    showFlag();
  }

  function duration(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    var hours = Math.floor(minutes / 60);
    var clock = (minutes % 60) + ":" + (rest < 10 ? "0" : "") + rest;
    return hours ? hours + ":" + (minutes % 60 < 10 ? "0" : "") + clock : clock;
  }

  function showSummary(progress, leftUrl) {
    var box = document.getElementById("summary");
    var flags = Object.keys(session.flagged);
    document.getElementById("summary-graded").textContent = session.graded.length;
    document.getElementById("summary-skipped").textContent = session.skipped.length;
    document.getElementById("summary-flagged").textContent = flags.length;
    document.getElementById("summary-time").textContent = duration(Date.now() - session.started);
    var left = document.getElementById("summary-left");
    if (progress) {
      left.textContent = "You have a current grade for " + progress.mine +
        " of " + progress.total + " items here; " + (progress.total - progress.mine) + " left. ";
    }
    leftUrl = leftUrl || data.nextOpenUrl;
    if (leftUrl && leftUrl !== data.url) {
      var more = document.createElement("a");
      more.href = leftUrl;
      more.id = "summary-next";
      more.textContent = "Grade the next ungraded item";
      left.appendChild(more);
    }
    var list = document.getElementById("summary-flags");
    list.textContent = "";
    flags.forEach(function (id) {
      var entry = session.flagged[id];
      var link = document.createElement("a");
      link.href = entry.url;
      link.textContent = entry.label;
      var row = document.createElement("li");
      row.appendChild(link);
      list.appendChild(row);
    });
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function updateProgress(progress, all) {
    if (!progress) { return; }
    data.progress = progress;
    document.getElementById("progress-mine").textContent = progress.mine;
    document.getElementById("progress-everyone").textContent = progress.everyone;
    var meter = document.querySelector("#progress meter");
    if (meter) { meter.value = progress.mine; meter.max = progress.total; }
    var allMine = document.getElementById("progress-all-mine");
    if (all && allMine) { allMine.textContent = all.mine; }
  }

  function setNextOpen(url) {
    data.nextOpenUrl = url || null;
    var link = document.getElementById("next-open");
    if (link && url) { link.href = url; } else if (link) { link.parentNode.removeChild(link); }
  }

  function skip() {
    if (busy) { return; }
    remember(session.skipped, data.item);
    saveSession();
    if (data.nextUrl) { go(data.nextUrl, "Skipped " + data.label + "."); return; }
    say("Skipped. That was the last item.", "");
    showSummary(data.progress);
  }

  function setScore(name, value) {
    var input = form.querySelector('input[name="' + name + '"][value="' + value + '"]');
    if (input) { input.checked = true; showRubric(name); }
  }

  function score(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? parseInt(input.value, 10) : null;
  }

  function showRubric(name) {
    var value = score(name);
    document.getElementById(name + "-text").textContent = value === null ? "" : value + ": " + rubric[name][value];
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = "form-message " + (kind || "");
  }

  function submit() {
    if (busy) { return; }
    var functionality = score("functionality");
    var aesthetics = score("aesthetics");
    if (functionality === null || aesthetics === null) {
      say("Give both scores first: 0-5 for functionality, Shift+0-5 for aesthetics.", "error");
      return;
    }
    busy = true;
    say("Saving…", "");
    var headers = { "Content-Type": "application/json" };
    headers[data.tokenHeader] = data.token;
    fetch("/api/grades", {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify({
        item: data.item,
        functionality: functionality,
        aesthetics: aesthetics,
        notes: notes.value,
        artifact_hash: data.artifactHash,
        challenge: data.challenge
      })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      busy = false;
      if (!result.ok) { say(result.body.error || "The grade was not saved.", "error"); return; }
      var body = result.body;
      remember(session.graded, data.item);
      forget(session.skipped, data.item);
      saveSession();
      updateProgress(body.progress);
      // blind: the banner stays over the next item, so it must not name this one's model
      var text = "Saved " + body.challenge + (data.blind ? "" : ": that was " + body.model) +
        (body.commit ? " (commit " + body.commit.slice(0, 7) + (body.branch ? " on " + body.branch : "") + ")" : "") + "." +
        (body.warning ? " Warning: " + body.warning : "") +
        (body.push_command ? " When done: " + body.push_command + ", then open a pull request." : "");
      if (body.next_url && data.nextUrl) {
        if (go(body.next_url, text)) {  // swapped in: bring what the prefetch could not know up to date
          updateProgress(body.progress, body.progress_all);
          setNextOpen(body.next_open_after);
        }
      } else {  // the last item, or nothing left: sum the session up instead of moving on
        say(text + (body.next_url ? "" : " Everything here is graded."), "ok");
        var status = document.getElementById("item-status");
        if (status) { status.textContent = "graded by you"; status.className = "status graded"; }
        showSummary(body.progress, body.next_url);
      }
    }).catch(function (error) {
      busy = false;
      say("The grade was not saved: " + error, "error");
    });
  }

  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type !== "radio"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) { return; }
    if (UI.modalOpen()) { return; }  // help or the screenshot viewer: each closes itself on Escape
    var inNotes = event.target === notes;
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && (inNotes || !typing(event.target))) {
      if (event.target.tagName === "BUTTON" || event.target.tagName === "A") {
        if (event.target.id !== "submit") { return; }  // Enter on a link or a tab does its own thing
      }
      event.preventDefault();
      submit();
      return;
    }
    if (inNotes && event.key === "Escape") { notes.blur(); event.preventDefault(); return; }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var digit = /^(Digit|Numpad)([0-5])$/.exec(event.code);
    if (digit) {
      event.preventDefault();
      setScore(event.shiftKey && digit[1] === "Digit" ? "aesthetics" : "functionality", digit[2]);
      return;
    }
    switch (event.code) {
      case "ArrowLeft": event.preventDefault(); go(data.prevUrl); return;
      case "ArrowRight": event.preventDefault(); go(data.nextUrl); return;
      case "KeyN": event.preventDefault(); notes.focus(); return;
      case "KeyU": event.preventDefault(); go(data.nextOpenUrl); return;
      case "KeyP": event.preventDefault(); pin.toggle(); return;
      case "KeyS": if (event.shiftKey) { return; } event.preventDefault(); skip(); return;
      case "KeyF": if (event.shiftKey) { return; } event.preventDefault(); toggleFlag(); return;
    }
    if (event.key === "?") { event.preventDefault(); help.showModal(); }
  });

  // Wire up the item's page: on load, and again after a prefetched item is swapped in.
  function bind() {
    data = JSON.parse(document.getElementById("grader-data").textContent);
    rubric = JSON.parse(document.getElementById("rubric-data").textContent);
    form = document.getElementById("grade-form");
    notes = document.getElementById("notes");
    message = document.getElementById("form-message");
    help = document.getElementById("help");
    flagButton = document.getElementById("flag-button");
    pin = UI.pin(document.getElementById("prompt"), "vizhub-prompt");
    busy = false;

    form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    form.addEventListener("change", function (event) {
      if (event.target.name === "functionality" || event.target.name === "aesthetics") { showRubric(event.target.name); }
    });
    showRubric("functionality");
    showRubric("aesthetics");

    document.getElementById("help-button").addEventListener("click", function () { help.showModal(); });
    document.getElementById("skip-button").addEventListener("click", skip);
    flagButton.addEventListener("click", toggleFlag);
    showFlag();

    var select = document.getElementById("challenge-select");
    select.addEventListener("change", function () {
      window.location.assign(select.value ? "/?challenge=" + encodeURIComponent(select.value) : "/");
    });

    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
      tab.addEventListener("click", function () {
        Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (other) {
          other.classList.toggle("active", other === tab);
          document.getElementById(other.dataset.panel).hidden = other !== tab;
        });
      });
    });
  }

  bind();
  UI.shotViewer();
  UI.keysPause("#live");
  // a swapped-in item has its own URL: going back or forward to one loads it afresh
  window.addEventListener("popstate", function () { window.location.reload(); });
  if (document.readyState === "complete") { whenUsable(true); } else {
    window.addEventListener("load", function () { whenUsable(true); }, { once: true });
  }

  var flash = null;
  try { flash = window.sessionStorage.getItem("vizhub-flash"); window.sessionStorage.removeItem("vizhub-flash"); } catch (e) { /* private mode */ }
  if (flash) { showFlash(flash); }
})();
