// The pairwise voting page: keys A/B/T/X vote, S skips, F flags, N notes; POST /api/votes.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pair-data").textContent);
  var help = document.getElementById("help");
  var message = document.getElementById("form-message");
  var notes = document.getElementById("pair-notes");
  var flagButton = document.getElementById("flag-button");
  var busy = false;
  var flagged = false;

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
    ["voted", "skipped", "remaining"].forEach(function (name) {
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

  function moveOn(reply, text) {
    updateProgress(reply.progress);
    if (reply.next_url && reply.next_url === window.location.pathname) {  // skipped the only pair left
      busy = false;
      say(text + " Skipped pairs come back after the others, and this is the only one left.", "");
      return;
    }
    if (reply.next_url) {
      try { window.sessionStorage.setItem("vizhub-pair-flash", text); } catch (e) { /* private mode */ }
      window.location.assign(reply.next_url);
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
      moveOn(reply, text);
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
      moveOn(result.body, "Skipped a pair.");
    }).catch(function (error) {
      busy = false;
      say("Could not skip: " + error, "error");
    });
  }

  document.getElementById("help-button").addEventListener("click", function () { help.showModal(); });

  var flash = null;
  try {
    flash = window.sessionStorage.getItem("vizhub-pair-flash");
    window.sessionStorage.removeItem("vizhub-pair-flash");
  } catch (e) { /* private mode */ }
  if (flash) {
    var banner = document.getElementById("flash");
    banner.textContent = flash;
    banner.hidden = false;
  }

  if (!data.pair) {  // the end of the queue: sum up this tab's session, if it voted or skipped
    if (session.votes.length || session.skipped.length) { showSummary(data.progress); }
    return;
  }

  // Each live output scaled to its column, so both fit side by side at their own viewport size.
  function fitFrames() {
    Array.prototype.forEach.call(document.querySelectorAll(".pair-frame"), function (box) {
      var frame = box.querySelector("iframe");
      var scale = Math.min(1, box.clientWidth / data.viewport.width);
      frame.style.transform = "scale(" + scale + ")";
      frame.style.transformOrigin = "0 0";
      box.style.height = Math.ceil(data.viewport.height * scale) + "px";
    });
  }
  fitFrames();
  window.addEventListener("resize", fitFrames);

  // A click into an output gives it the keys; show that, and take them back when the pointer leaves it.
  var paused = document.getElementById("keys-paused");
  function framed() { return document.activeElement && document.activeElement.tagName === "IFRAME"; }
  window.addEventListener("blur", function () { window.setTimeout(function () { paused.hidden = !framed(); }, 0); });
  window.addEventListener("focus", function () { paused.hidden = true; });
  Array.prototype.forEach.call(document.querySelectorAll(".pair-frame"), function (box) {
    box.addEventListener("pointerleave", function () {
      if (framed()) { document.getElementById("vote-form").focus({ preventScroll: true }); paused.hidden = true; }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll(".vote"), function (button) {
    button.addEventListener("click", function () { vote(button.dataset.winner); });
  });
  document.getElementById("skip-button").addEventListener("click", skip);
  flagButton.addEventListener("click", function () { flagged = !flagged; showFlag(); });
  document.getElementById("vote-form").addEventListener("submit", function (event) { event.preventDefault(); });

  var VOTES = { KeyA: "a", KeyB: "b", KeyT: "tie", KeyX: "both_bad" };
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || help.open || window.VizUI.modalOpen()) { return; }
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
      case "KeyF": event.preventDefault(); flagged = !flagged; showFlag(); return;
      case "KeyN": event.preventDefault(); notes.focus(); return;
    }
    if (event.key === "?") { event.preventDefault(); help.showModal(); }
  });
  document.body.dataset.ready = "pair";  // the keys work from here on
})();
