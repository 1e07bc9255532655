// Live page: the newest observations first (from /api/observations), then every new
// observation, rollup line ("readings", off by default) and agent log line as the server
// sends it over SSE (/api/events). Changing a filter reconnects with the new filter.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var feed = $("feed");
  var dot = $("live-dot");
  var params = new URLSearchParams(location.search);
  var es = null;
  var MAX_ITEMS = 300;

  function fmt(t) { return t ? t.slice(0, 19).replace("T", " ") : ""; }

  function add(kind, d, fresh) {
    var li = document.createElement("li");
    li.className = kind + (fresh ? " new" : "");
    var time = document.createElement("time");
    time.textContent = fmt(d.t || d.created);
    li.appendChild(time);
    var k = document.createElement("span");
    k.className = "kind " + kind;
    k.textContent = kind === "reading" ? "reading" : kind === "log" ? "log" : "observation";
    li.appendChild(k);
    var node = document.createElement("span");
    node.className = "muted";
    node.textContent = d.node;
    li.appendChild(node);
    // the text on its own line under time, kind and node (clamped to a few lines by the
    // CSS: the link opens the whole observation)
    var body = document.createElement(kind === "observation" && d.url ? "a" : "span");
    body.className = "txt";
    if (body.tagName === "A") body.href = d.url;
    if (d.title) {
      var b = document.createElement("strong");
      b.textContent = d.title;
      body.appendChild(b);
      body.appendChild(document.createTextNode(d.text ? ": " + d.text : ""));
    } else {
      body.textContent = d.text || "";
      if (body.tagName === "A") body.className = "txt link";  // no title to mark it: all link
    }
    li.appendChild(body);
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > MAX_ITEMS) feed.removeChild(feed.lastChild);
    $("empty").hidden = true;
  }

  function connect() {
    if (es) es.close();
    var kinds = ["observation"];
    if ($("readings").checked) kinds.push("reading");
    if ($("logs").checked) kinds.push("log");
    var p = new URLSearchParams({ kinds: kinds.join(",") });
    if ($("node").value) p.set("node", $("node").value);
    if ($("sensor").value) p.set("sensor", $("sensor").value);
    history.replaceState(null, "", "?" + p.toString());
    es = new EventSource("/api/events?" + p.toString());
    es.addEventListener("open", function () { dot.className = "dot"; dot.title = "live updates: on"; });
    es.addEventListener("error", function () { dot.className = "dot off"; dot.title = "live updates: reconnecting"; });
    ["observation", "reading", "log"].forEach(function (kind) {
      es.addEventListener(kind, function (ev) { add(kind, JSON.parse(ev.data), true); });
    });
  }

  function backlog() {
    var p = new URLSearchParams({ limit: "20" });
    if ($("node").value) p.set("node", $("node").value);
    if ($("sensor").value) p.set("sensor", $("sensor").value);
    return fetch("/api/observations?" + p.toString()).then(function (r) { return r.json(); })
      .then(function (d) {
        feed.textContent = "";
        d.observations.forEach(function (o) {
          add("observation", { t: o.created, node: o.node, title: o.title, text: o.text.slice(0, 300), url: o.url }, false);
        });
      });
  }

  fetch("/api/sensors").then(function (r) { return r.json(); }).then(function (d) {
    var nodes = {};
    d.sensors.forEach(function (s) {
      nodes[s.node] = 1;
      var o = document.createElement("option");
      o.value = s.id;
      o.textContent = s.node + " / " + (s.name || s.id);
      $("sensor").appendChild(o);
    });
    Object.keys(nodes).sort().forEach(function (n) {
      var o = document.createElement("option");
      o.value = n; o.textContent = n;
      $("node").appendChild(o);
    });
    $("node").value = params.get("node") || "";
    $("sensor").value = params.get("sensor") || "";
    var kinds = (params.get("kinds") || "observation,log").split(",");
    $("readings").checked = kinds.indexOf("reading") >= 0;
    $("logs").checked = kinds.indexOf("log") >= 0;
  }).finally(function () {
    backlog().finally(connect);
    ["node", "sensor", "readings", "logs"].forEach(function (id) {
      $(id).addEventListener("change", function () { backlog().finally(connect); });
    });
  });
})();
