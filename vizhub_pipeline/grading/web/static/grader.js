// The grading page: hotkeys, tabs, help, and submitting through POST /api/grades.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("grader-data").textContent);
  var rubric = JSON.parse(document.getElementById("rubric-data").textContent);
  var form = document.getElementById("grade-form");
  var notes = document.getElementById("notes");
  var message = document.getElementById("form-message");
  var help = document.getElementById("help");
  var prompt = document.getElementById("prompt");
  var busy = false;

  function go(url) { if (url) { window.location.assign(url); } }

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
      var text = "Saved " + body.challenge + ": that was " + body.model +
        (body.commit ? " (commit " + body.commit.slice(0, 7) + (body.branch ? " on " + body.branch : "") + ")" : "") + "." +
        (body.warning ? " Warning: " + body.warning : "") +
        (body.push_command ? " When done: " + body.push_command + ", then open a pull request." : "");
      if (body.next_url) {
        try { window.sessionStorage.setItem("vizhub-flash", text); } catch (e) { /* private mode */ }
        go(body.next_url);
      } else {
        say(text + " Everything here is graded.", "ok");
        var status = document.getElementById("item-status");
        if (status) { status.textContent = "graded by you"; status.className = "status graded"; }
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
    if (help.open) { return; }  // the dialog closes itself on Escape
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
      case "KeyP": event.preventDefault(); prompt.open = !prompt.open; return;
    }
    if (event.key === "?") { event.preventDefault(); help.showModal(); }
  });

  form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
  form.addEventListener("change", function (event) {
    if (event.target.name === "functionality" || event.target.name === "aesthetics") { showRubric(event.target.name); }
  });
  showRubric("functionality");
  showRubric("aesthetics");

  document.getElementById("help-button").addEventListener("click", function () { help.showModal(); });

  var select = document.getElementById("challenge-select");
  select.addEventListener("change", function () {
    go(select.value ? "/?challenge=" + encodeURIComponent(select.value) : "/");
  });

  Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
    tab.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (other) {
        other.classList.toggle("active", other === tab);
        document.getElementById(other.dataset.panel).hidden = other !== tab;
      });
    });
  });

  var flash = null;
  try { flash = window.sessionStorage.getItem("vizhub-flash"); window.sessionStorage.removeItem("vizhub-flash"); } catch (e) { /* private mode */ }
  if (flash) {
    var box = document.getElementById("flash");
    box.textContent = flash;
    box.hidden = false;
  }
})();
