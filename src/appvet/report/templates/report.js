"use strict";
(function () {
  function cellText(row, i) {
    var c = row.cells[i];
    return c ? (c.getAttribute("data-sort") || c.textContent).trim() : "";
  }
  function compare(a, b) {
    var na = parseFloat(a), nb = parseFloat(b);
    if (!isNaN(na) && !isNaN(nb) && String(na) === a && String(nb) === b) { return na - nb; }
    return a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = th.textContent;
      b.setAttribute("aria-label", "Sort by " + th.textContent);
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) { var r = compare(cellText(x, i), cellText(y, i)); return asc ? r : -r; });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function filterable(table) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "filter";
    input.placeholder = "Filter rows…";
    input.setAttribute("aria-label", "Filter " + (table.getAttribute("aria-label") || "table"));
    if (table.id) { input.setAttribute("aria-controls", table.id); }
    table.parentNode.insertBefore(input, table);
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (t) {
    if (t.tBodies.length && t.tBodies[0].rows.length > 1) { filterable(t); }
    sortable(t);
  });
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
})();
