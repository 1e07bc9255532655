// Status page: the node cards are server-rendered; an SSE "status" event (sent when the
// status changes) fetches the same fragment again and swaps it in.
(function () {
  "use strict";
  var dot = document.getElementById("live-dot");
  var box = document.getElementById("status");
  function refresh() {
    fetch("/fragments/status", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { box.innerHTML = html; })  // our own autoescaped template
      .catch(function () { dot.className = "dot off"; });
  }
  var es = new EventSource("/api/events?kinds=status");
  var first = true;
  es.addEventListener("open", function () { dot.className = "dot"; dot.title = "live updates: on"; });
  es.addEventListener("error", function () { dot.className = "dot off"; dot.title = "live updates: reconnecting"; });
  es.addEventListener("status", function () {
    if (first) { first = false; return; }  // the page already shows this one
    refresh();
  });
  // Ages ("3 min ago") move on even when nothing changes: refresh once a minute.
  setInterval(refresh, 60000);
})();
