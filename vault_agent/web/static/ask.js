// Ask page: "thinking…" at once, the answer streamed from /api/ask (SSE) piece by piece,
// then its citations as links to the pages of the cited files. [n] markers in the
// answer link to the n-th citation. Text goes in as text nodes, never as HTML.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var es = null;
  var answer = "";

  function render(links) {
    var box = $("text");
    box.textContent = "";
    var parts = answer.split(/(\[\d+\])/);
    parts.forEach(function (part) {
      var m = /^\[(\d+)\]$/.exec(part);
      if (m && links && links[m[1]]) {
        var a = document.createElement("a");
        a.href = links[m[1]];
        a.textContent = part;
        box.appendChild(a);
      } else {
        box.appendChild(document.createTextNode(part));
      }
    });
  }

  // A cited file in words: "alpaca-2 · readings of 2017-12-22, lines 2–24" for a rollup
  // line, the note's name for a Markdown file (the full path is the link's tooltip).
  function label(path) {
    var m = /^agents\/([^/]+)\/sensors\/.*?(\d{4}-\d{2}-\d{2})\.jsonl(?:#L(\d+)(?:-L(\d+))?)?$/.exec(path);
    if (m) {
      var lines = !m[3] ? "" : m[4] ? ", lines " + m[3] + "–" + m[4] : ", line " + m[3];
      return m[1] + " · readings of " + m[2] + lines;
    }
    var a = /^agents\/([^/]+)\/(?:.*\/)?([^/]+?)(?:\.md)?$/.exec(path);
    if (a) return a[1] + " · " + a[2];
    return path.replace(/^knowledge-base\//, "").replace(/\.md$/, "");
  }

  $("ask").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = $("q").value.trim();
    if (!q) return;
    if (es) es.close();
    answer = "";
    $("answer").hidden = false;
    $("thinking").hidden = false;
    $("text").textContent = "";
    $("cites").textContent = "";
    $("meta").textContent = "";
    var p = new URLSearchParams({ q: q });
    if ($("keep").checked) p.set("log", "1");  // /api/ask writes nothing unless asked
    es = new EventSource("/api/ask?" + p.toString());
    $("thinking").textContent = "thinking…";
    es.addEventListener("step", function (e) {
      if (!answer) $("thinking").textContent = JSON.parse(e.data).text;
    });
    es.addEventListener("piece", function (e) {
      $("thinking").hidden = true;
      answer += JSON.parse(e.data).text;
      render(null);
    });
    es.addEventListener("citations", function (e) {
      var links = {};
      JSON.parse(e.data).forEach(function (c) {
        var li = document.createElement("li");
        li.value = c.n;
        var a = document.createElement(c.url ? "a" : "span");
        if (c.url) { a.href = c.url; links[c.n] = c.url; }
        a.textContent = label(c.path);
        a.title = c.path;
        li.appendChild(a);
        $("cites").appendChild(li);
      });
      render(links);
    });
    es.addEventListener("done", function (e) {
      var d = JSON.parse(e.data);
      $("thinking").hidden = true;
      var how = d.llm ? "Answered by " + d.model
        : d.model === "extractive" ? "No LLM answered: the best passages"
        : "Computed from the vault's data";
      $("meta").textContent = how +
        (d.notes && d.notes.length ? " · " + d.notes.join(" · ") : "") +
        (d.logged ? " · kept in " + d.logged : "");
      es.close();
    });
    es.addEventListener("error", function (e) {
      $("thinking").hidden = true;
      var msg = "The connection was lost.";
      if (e.data) { try { msg = JSON.parse(e.data).message; } catch (x) { /* keep */ } }
      $("meta").textContent = msg;
      es.close();
    });
  });
  var q = new URLSearchParams(location.search).get("q");
  if (q) { $("q").value = q; $("ask").requestSubmit(); }
})();
