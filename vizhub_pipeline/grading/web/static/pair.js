// The pairwise voting page: keys A/B/T/X vote, S skips, F flags, N notes; POST /api/votes.
// The pairs a vote or a skip may lead to are loaded ahead (static/ui.js), once both outputs of
// this one have loaded: GET /api/pairs/<id>/next says which. After the vote, the pair the server
// names in its reply is swapped in if it was loaded ahead (and its outputs are unchanged), else
// the page navigates to it. bind() wires up each pair's part of the page.
(function () {
  "use strict";
  var UI = window.VizUI;
  var FRAMES = ".pair-frame iframe";
  var help = document.getElementById("help");
  var flashBox = document.getElementById("flash");
  var data, message, notes, flagButton;
  var busy = false;
  var flagged = false;
  var ahead = {};  // url -> VizUI.Prefetch of that pair's page
  var PREFETCH_FOR_MS = 10 * 60 * 1000;  // an older prefetch may be out of date: navigate instead
  var prefetchOn = UI.stored("vizhub-prefetch") !== "off";

  // This tab's voting session (sessionStorage): when it started, the votes (revealed after them), the skips.
  var SESSION_KEY = "vizhub-pair-session";
  function loadSession() {
    var state = null;
    try { state = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || "null"); } catch (e) { state = null; }
    if (!state || typeof state.started !== "number" || !Array.isArray(state.votes)) {
      state = { started: Date.now(), votes: [], skipped: [] };
    }
    return state;
  }
  var session = loadSession();
  function saveSession() {
    try { window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)); } catch (e) { /* private mode */ }
  }
  saveSession();

  function say(text, kind) {
    if (!message) { return; }
    message.textContent = text;
    message.className = "form-message " + (kind || "");
  }

  function duration(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    var hours = Math.floor(minutes / 60);
    var clock = (minutes % 60) + ":" + (rest < 10 ? "0" : "") + rest;
    return hours ? hours + ":" + (minutes % 60 < 10 ? "0" : "") + clock : clock;
  }

  var WORDS = { a: "left better", b: "right better", tie: "tie", both_bad: "both bad" };
  function sideName(side) { return side.model + (side.sample ? " #" + side.sample : ""); }

  function updateProgress(progress) {
    if (!progress) { return; }
    data.progress = progress;
    ["voted", "skipped", "remaining", "total"].forEach(function (name) {
      var cell = document.getElementById("progress-" + name);
      if (cell) { cell.textContent = progress[name]; }
    });
  }

  function showSummary(progress) {
    var box = document.getElementById("summary");
    document.getElementById("summary-voted").textContent = session.votes.length;
    document.getElementById("summary-skipped").textContent = session.skipped.length;
    document.getElementById("summary-flagged").textContent =
      session.votes.filter(function (vote) { return vote.flagged; }).length;
    document.getElementById("summary-time").textContent = duration(Date.now() - session.started);
    if (progress) {
      document.getElementById("summary-left").textContent = progress.remaining
        ? progress.remaining + " pair(s) left in the queue." : "No pair is left in your queue.";
    }
    // blind: the server never sent the models (a repeat of a pair later must stay blind)
    var table = document.getElementById("summary-votes");
    table.textContent = "";
    if (session.votes.length) {
      var head = document.createElement("tr");
      var named = session.votes[0].left ? ["challenge", "left", "your vote", "right", "flag", "note"] : null;
      (named || ["challenge", "your vote", "flag", "note"]).forEach(function (text) {
        var cell = document.createElement("th");
        cell.textContent = text;
        head.appendChild(cell);
      });
      table.appendChild(head);
    }
    session.votes.forEach(function (vote) {
      var row = document.createElement("tr");
      var verdict = WORDS[vote.winner] || vote.winner;
      var flag = vote.flagged ? "flagged" : "";
      (vote.left && vote.right
        ? [vote.challenge, sideName(vote.left), verdict, sideName(vote.right), flag, vote.notes || ""]
        : [vote.challenge, verdict, flag, vote.notes || ""]).forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      table.appendChild(row);
    });
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function showFlag() {
    flagButton.setAttribute("aria-pressed", flagged ? "true" : "false");
    document.getElementById("flag-label").textContent = flagged ? "flagged" : "flag";
  }

  function post(url, body) {
    var headers = { "Content-Type": "application/json" };
    headers[data.tokenHeader] = data.token;
    return fetch(url, { method: "POST", headers: headers, credentials: "same-origin", body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().then(function (reply) { return { ok: response.ok, body: reply }; });
      });
  }

  function showFlash(text) {
    flashBox.textContent = text;
    flashBox.hidden = false;
  }

  // Go to the pair the server named: swap it in if it was loaded ahead and shows the same outputs
  // as now (`artifacts`: the hashes of its left and right output), else navigate.
  function go(url, flash, artifacts) {
    var found = ahead[url];
    var there = found && found.doc && found.doc.getElementById("pair-data");
    var same = false;
    if (there && artifacts) {
      var next = JSON.parse(there.textContent);
      same = "/pair/" + next.pair === url && next.artifactHashA === artifacts[0] && next.artifactHashB === artifacts[1];
    }
    if (same && Date.now() - found.at < PREFETCH_FOR_MS) {
      var progress = data.progress;
      found.swap(FRAMES);  // synchronous: no key is handled between the swap and bind()
      delete ahead[url];
      delete document.documentElement.dataset.prefetched;
      bind();
      updateProgress(progress);  // newer than the counts of the page loaded ahead
      showFlash(flash);
      window.scrollTo(0, 0);
      whenUsable(false);
      return;
    }
    try { window.sessionStorage.setItem("vizhub-pair-flash", flash); } catch (e) { /* private mode */ }
    window.location.assign(url);
  }

  function moveOn(reply, text, voted) {
    updateProgress(reply.progress);
    if (reply.next_url && reply.next_url === window.location.pathname && !voted) {  // skipped the only pair left
      busy = false;
      say(text + " Skipped pairs come back after the others, and this is the only one left.", "");
      return;
    }
    if (reply.next_url) {  // (after a vote, the same pair again is a repeat: loaded afresh)
      go(reply.next_url, text, reply.next_artifacts);
      return;
    }
    busy = true;  // the queue is done: this page takes no second vote
    Array.prototype.forEach.call(document.querySelectorAll("#vote-form button"), function (button) {
      button.disabled = true;
    });
    say(text + " That was the last pair.", "ok");
    showSummary(reply.progress);
  }

  function vote(winner) {
    if (busy) { return; }
    busy = true;
    say("Saving…", "");
    post("/api/votes", {
      pair: data.pair,
      winner: winner,
      flagged: flagged,
      notes: notes.value,
      artifact_hash_a: data.artifactHashA,
      artifact_hash_b: data.artifactHashB
    }).then(function (result) {
      if (!result.ok) { busy = false; say(result.body.error || "The vote was not saved.", "error"); return; }
      var reply = result.body;
      session.votes.push({
        challenge: reply.challenge, winner: reply.winner, flagged: reply.flagged, notes: notes.value.trim(),
        left: reply.left, right: reply.right
      });
      saveSession();
      // blind: this banner stays over the next pair, which may share an output with this one: no model names
      var text = "Vote saved on " + reply.challenge + ": " + WORDS[reply.winner] +
        (reply.left && reply.right ? " (left " + sideName(reply.left) + ", right " + sideName(reply.right) + ")" : "") +
        (reply.commit ? ", commit " + reply.commit.slice(0, 7) + (reply.branch ? " on " + reply.branch : "") : "") + "." +
        (reply.warning ? " Warning: " + reply.warning : "") +
        (reply.push_command ? " When done: " + reply.push_command + ", then open a pull request." : "");
      moveOn(reply, text, true);
    }).catch(function (error) {
      busy = false;
      say("The vote was not saved: " + error, "error");
    });
  }

  function skip() {
    if (busy) { return; }
    busy = true;
    post("/api/pairs/skip", { pair: data.pair }).then(function (result) {
      if (!result.ok) { busy = false; say(result.body.error || "Could not skip.", "error"); return; }
      session.skipped.push(data.pair);
      saveSession();
      moveOn(result.body, "Skipped a pair.", false);
    }).catch(function (error) {
      busy = false;
      say("Could not skip: " + error, "error");
    });
  }

  function toggleFlag() {
    flagged = !flagged;
    showFlag();
  }

  // Each live output scaled to its column, so both fit side by side at their own viewport size.
  function fitFrames() {
    Array.prototype.forEach.call(document.querySelectorAll(".pair-frame"), function (box) {
      var frame = box.querySelector("iframe");
      if (!frame) { return; }
      var scale = Math.min(1, box.clientWidth / data.viewport.width);
      frame.style.transform = "scale(" + scale + ")";
      frame.style.transformOrigin = "0 0";
      box.style.height = Math.ceil(data.viewport.height * scale) + "px";
    });
  }

  // The pair is usable once both its outputs have loaded: mark it (the benchmark and the tests wait
  // for it), then load ahead where its votes and skip lead. (`loaded`: the window's load event, which
  // waits for the frames, has fired for this pair.)
  function whenUsable(loaded) {
    var pair = data.pair;
    var waiting = Array.prototype.filter.call(document.querySelectorAll(FRAMES), function (frame) {
      if (loaded === true) { frame.dataset.loaded = "yes"; }
      return frame.dataset.loaded !== "yes";
    });
    function usable() {
      if (data.pair !== pair) { return; }
      document.documentElement.dataset.usable = pair;
      prefetch();
    }
    var left = waiting.length;
    if (!left) { usable(); return; }
    waiting.forEach(function (frame) {
      frame.addEventListener("load", function () {
        frame.dataset.loaded = "yes";
        left -= 1;
        if (!left) { usable(); }
      }, { once: true });
    });
  }

  // Ask where each vote (and S) leads from this pair, then load those pairs ahead, one after the
  // other (both outputs of one before the next: on a busy machine the likeliest is ready first).
  // Pairs loaded ahead and still wanted are kept with their frames; the others are dropped.
  function prefetch() {
    if (!prefetchOn || !data.pair) { return; }
    var pair = data.pair;
    fetch("/api/pairs/" + encodeURIComponent(pair) + "/next", { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (reply) {
      if (!reply || data.pair !== pair) { return; }
      var here = "/pair/" + pair;
      var urls = [];
      Object.keys(reply.next).forEach(function (action) {
        var url = reply.next[action];
        if (url && url !== here && urls.indexOf(url) < 0) { urls.push(url); }
      });
      Object.keys(ahead).forEach(function (url) {
        var old = ahead[url];
        if (urls.indexOf(url) < 0 || old.failed || Date.now() - old.at >= PREFETCH_FOR_MS) {
          old.discard();
          delete ahead[url];
        }
      });
      var chain = Promise.resolve();
      urls.forEach(function (url) {
        chain = chain.then(function () {
          if (data.pair !== pair) { return null; }
          var fetched = ahead[url] || new UI.Prefetch(url, FRAMES);
          fetched.at = fetched.at || Date.now();
          ahead[url] = fetched;
          return fetched.ready.then(function () {
            if (data.pair !== pair || ahead[url] !== fetched || !fetched.doc) { return; }
            var done = (document.documentElement.dataset.prefetched || "").split(" ").filter(Boolean);
            done.push(url);
            document.documentElement.dataset.prefetched = done.join(" ");
          });
        });
      });
      chain.then(function () {  // every pair this one may lead to is loaded ahead
        if (data.pair === pair) { document.documentElement.dataset.aheadOf = pair; }
      });
    }).catch(function () { /* nothing loaded ahead: the vote navigates */ });
  }

  // Wire up a pair's part of the page: on load, and again after a pair loaded ahead is swapped in.
  function bind() {
    data = JSON.parse(document.getElementById("pair-data").textContent);
    message = document.getElementById("form-message");
    notes = document.getElementById("pair-notes");
    flagButton = document.getElementById("flag-button");
    busy = false;
    flagged = false;
    if (!data.pair) { return; }
    fitFrames();
    Array.prototype.forEach.call(document.querySelectorAll(".pair-frame"), function (box) {
      box.addEventListener("pointerleave", function () {
        if (framed()) { document.getElementById("vote-form").focus({ preventScroll: true }); paused.hidden = true; }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".vote"), function (button) {
      button.addEventListener("click", function () { vote(button.dataset.winner); });
    });
    document.getElementById("skip-button").addEventListener("click", skip);
    flagButton.addEventListener("click", toggleFlag);
    document.getElementById("vote-form").addEventListener("submit", function (event) { event.preventDefault(); });
  }

  // A click into an output gives it the keys; show that, and take them back when the pointer leaves it.
  var paused = document.getElementById("keys-paused");
  function framed() { return !!document.activeElement && document.activeElement.matches(FRAMES); }

  document.getElementById("help-button").addEventListener("click", function () { help.showModal(); });

  var flash = null;
  try {
    flash = window.sessionStorage.getItem("vizhub-pair-flash");
    window.sessionStorage.removeItem("vizhub-pair-flash");
  } catch (e) { /* private mode */ }
  if (flash) { showFlash(flash); }

  bind();
  if (!data.pair) {  // the end of the queue: sum up this tab's session, if it voted or skipped
    if (session.votes.length || session.skipped.length) { showSummary(data.progress); }
    return;
  }

  window.addEventListener("resize", fitFrames);
  window.addEventListener("blur", function () { window.setTimeout(function () { paused.hidden = !framed(); }, 0); });
  window.addEventListener("focus", function () { paused.hidden = true; });
  // a swapped-in pair has its own URL: going back or forward to one loads it afresh
  window.addEventListener("popstate", function () { window.location.reload(); });

  var VOTES = { KeyA: "a", KeyB: "b", KeyT: "tie", KeyX: "both_bad" };
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || help.open || UI.modalOpen()) { return; }
    if (event.target === notes) {
      if (event.key === "Escape" || event.key === "Enter") { event.preventDefault(); notes.blur(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) {
      if (event.key === "?") { event.preventDefault(); help.showModal(); }
      return;
    }
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (VOTES[event.code]) { event.preventDefault(); vote(VOTES[event.code]); return; }
    switch (event.code) {
      case "KeyS": event.preventDefault(); skip(); return;
      case "KeyF": event.preventDefault(); toggleFlag(); return;
      case "KeyN": event.preventDefault(); notes.focus(); return;
    }
    if (event.key === "?") { event.preventDefault(); help.showModal(); }
  });
  document.body.dataset.ready = "pair";  // the keys work from here on
  if (document.readyState === "complete") { whenUsable(true); } else {
    window.addEventListener("load", function () { whenUsable(true); }, { once: true });
  }
})();
