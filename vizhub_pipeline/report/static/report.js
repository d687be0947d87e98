// The report's only script: sortable tables and the full-size image viewer. No library, nothing loaded.
"use strict";

(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }

  function compare(a, b) {
    if (a === "" || b === "") return a === b ? 0 : a === "" ? 1 : -1; // empty cells last
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) return x - y;
    return a.localeCompare(b);
  }

  function sortBy(table, header, index) {
    var descending = header.getAttribute("aria-sort") !== "descending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = cellValue(r1, index), b = cellValue(r2, index);
      if (a === "" || b === "") return compare(a, b);
      return descending ? compare(b, a) : compare(a, b);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      var button = header.querySelector("button");
      if (button) button.addEventListener("click", function () { sortBy(table, header, index); });
    });
  });

  var viewer = document.getElementById("viewer");
  var links = Array.prototype.slice.call(document.querySelectorAll("a.shot"));
  if (!viewer || !links.length) return;
  var image = document.getElementById("viewer-image");
  var caption = document.getElementById("viewer-caption");
  var position = document.getElementById("viewer-position");
  var current = 0, opener = null;

  function show(index) {
    current = (index + links.length) % links.length;
    var link = links[current];
    image.src = link.getAttribute("href");
    image.alt = link.getAttribute("data-caption") || "";
    caption.textContent = link.getAttribute("data-caption") || "";
    position.textContent = (current + 1) + " / " + links.length;
  }

  function open(index) {
    opener = document.activeElement;
    viewer.hidden = false;
    show(index);
    viewer.querySelector(".viewer-close").focus();
  }

  function close() {
    viewer.hidden = true;
    image.removeAttribute("src");
    if (opener && opener.focus) opener.focus();
  }

  links.forEach(function (link, index) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return; // new tab stays possible
      event.preventDefault();
      open(index);
    });
  });
  viewer.querySelector(".viewer-prev").addEventListener("click", function () { show(current - 1); });
  viewer.querySelector(".viewer-next").addEventListener("click", function () { show(current + 1); });
  viewer.querySelector(".viewer-close").addEventListener("click", close);
  viewer.addEventListener("click", function (event) { if (event.target === viewer) close(); });
  document.addEventListener("keydown", function (event) {
    if (viewer.hidden) return;
    if (event.key === "Escape") { close(); event.preventDefault(); }
    else if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
  });
})();
