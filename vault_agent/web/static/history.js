// History page: one uPlot chart per chosen sensor (cursors synced), data from
// /api/history downsampled by the server to the chart's width, observations from
// /api/observations marked on the time axis. State lives in the URL
// (?sensor=a&sensor=b&range=7d or &since=…&until=…) so a view can be shared or reloaded.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var state = {
    sensors: params.getAll("sensor"),
    range: params.get("range") || (params.get("since") ? "custom" : "7d"),
    since: params.get("since") || "",
    until: params.get("until") || "",
    node: params.get("node") || "",
  };
  var view = null;  // {since: ms, until: ms} of the last full load: zoom works from it
  var charts = [];
  var marks = [];
  var sync = uPlot.sync("history");
  var css = getComputedStyle(document.documentElement);
  var colour = function (name) { return css.getPropertyValue(name).trim(); };

  function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"); }
  function fmt(ms) { return iso(ms).slice(0, 16).replace("T", " "); }
  function showError(text) { var e = $("error"); e.textContent = text; e.hidden = !text; }

  function saveUrl() {
    var p = new URLSearchParams();
    state.sensors.forEach(function (s) { p.append("sensor", s); });
    if (state.range === "custom") { p.set("since", state.since); p.set("until", state.until); }
    else p.set("range", state.range);
    history.replaceState(null, "", "?" + p.toString());
  }

  function pressRange() {
    document.querySelectorAll("[data-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.range === state.range));
    });
    $("custom").hidden = state.range !== "custom";
  }

  function loadSensors() {
    return fetch("/api/sensors").then(function (r) { return r.json(); }).then(function (d) {
      var list = $("sensor-list");
      list.textContent = "";
      var node = null;
      if (!state.sensors.length) {
        // nothing chosen: the first numeric sensor (of ?node= if given) and its node's
        // binary sensors, so the page opens on something
        var first = d.sensors.filter(function (s) { return !s.binary && (!state.node || s.node === state.node); })[0];
        if (first) state.sensors = [first.key];
      }
      d.sensors.forEach(function (s) {
        if (s.node !== node) {
          node = s.node;
          var h = document.createElement("p");
          h.className = "node";
          h.textContent = node;
          list.appendChild(h);
        }
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.value = s.key;
        box.checked = state.sensors.indexOf(s.key) >= 0;
        box.addEventListener("change", function () {
          state.sensors = Array.prototype.map.call(
            list.querySelectorAll("input:checked"), function (b) { return b.value; });
          saveUrl();
          load();
        });
        label.appendChild(box);
        var unit = s.binary ? "on/off" : s.unit;
        label.appendChild(document.createTextNode(" " + (s.name || s.id) + " (" + unit + ")"));
        list.appendChild(label);
      });
      if (!d.sensors.length) list.textContent = "No sensors in this vault yet.";
    });
  }

  function picked() {
    $("picked").textContent = state.sensors.length
      ? state.sensors.map(function (k) { return k.split("/").pop(); }).join(", ")
      : "none (choose below)";
  }

  function query(key, since, until, width) {
    var p = new URLSearchParams({ sensor: key, width: String(width) });
    if (since) p.set("since", since);
    if (until) p.set("until", until);
    if (!since && !until) p.set("range", state.range);
    return fetch("/api/history?" + p.toString()).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(t.trim()); });
      return r.json();
    });
  }

  function load(since, until) {
    picked();
    showError("");
    var width = Math.max(200, $("charts").clientWidth - 20);
    if (!since && state.range === "custom") {
      if (!state.since || !state.until) { showError("Choose both dates for a custom range."); return; }
      since = state.since; until = state.until;
    }
    if (!state.sensors.length) { draw([], null); return; }
    // The first sensor fixes the window (a named range ends at its newest reading); the
    // others are asked for that same window, so every chart shares one time axis.
    query(state.sensors[0], since, until, width).then(function (first) {
      var rest = state.sensors.slice(1).map(function (k) {
        return query(k, first.since, first.until, width);
      });
      return Promise.all([first].concat(rest));
    }).then(function (results) {
      var w = { since: Date.parse(results[0].since), until: Date.parse(results[0].until) };
      view = w;
      var nodes = {};
      results.forEach(function (r) { nodes[r.node] = 1; });
      return loadObservations(Object.keys(nodes), w).then(function () { draw(results, w); });
    }).catch(function (e) { showError(e.message); });
  }

  function loadObservations(nodes, w) {
    var p = new URLSearchParams({ since: iso(w.since), until: iso(w.until), limit: "500" });
    var jobs = nodes.map(function (n) {
      var q = new URLSearchParams(p); q.set("node", n);
      return fetch("/api/observations?" + q.toString()).then(function (r) { return r.json(); });
    });
    return Promise.all(jobs).then(function (all) {
      marks = [];
      all.forEach(function (d) { marks = marks.concat(d.observations); });
      marks.sort(function (a, b) { return a.created < b.created ? -1 : 1; });
      var ul = $("obs");
      ul.textContent = "";
      marks.forEach(function (o) {
        var li = document.createElement("li");
        var t = document.createElement("time");
        t.textContent = fmt(Date.parse(o.start || o.created));
        li.appendChild(t);
        var a = document.createElement(o.url ? "a" : "span");
        if (o.url) a.href = o.url;
        a.textContent = o.title || o.text.slice(0, 80);
        li.appendChild(a);
        var n = document.createElement("span");
        n.className = "muted";
        n.textContent = " · " + o.node;
        li.appendChild(n);
        ul.appendChild(li);
      });
      $("obs-count").textContent = "(" + marks.length + ")";
    });
  }

  // Observation marks: a dashed vertical line at each observation's window start.
  function markPlugin() {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = colour("--mark");
          ctx.fillStyle = colour("--mark");
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          marks.forEach(function (o) {
            var x = u.valToPos(Date.parse(o.start || o.created) / 1000, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.beginPath();  // a small triangle on top, easy to see on a phone
            ctx.moveTo(x - 5 * devicePixelRatio, u.bbox.top);
            ctx.lineTo(x + 5 * devicePixelRatio, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + 8 * devicePixelRatio);
            ctx.fill();
          });
          ctx.restore();
        },
      },
    };
  }

  function numericData(r, w) {
    var xs = [], mean = [], lo = [], hi = [];
    var gap = r.every * 1.5 * 1000, prev = null;
    r.points.forEach(function (p) {
      var t = Date.parse(p.t);
      if (prev !== null && t - prev > gap) { xs.push((prev + t) / 2000); mean.push(null); lo.push(null); hi.push(null); }
      xs.push(t / 1000); mean.push(p.mean); lo.push(p.min); hi.push(p.max);
      prev = t;
    });
    return [xs, mean, lo, hi];
  }

  function binaryData(r, w) {
    var xs = [w.since / 1000], on = [0];
    r.intervals.forEach(function (i) {
      xs.push(Date.parse(i.start) / 1000); on.push(1);
      xs.push(Date.parse(i.end) / 1000); on.push(0);
    });
    xs.push(w.until / 1000); on.push(0);
    // uPlot needs ascending x: overlapping intervals cannot happen, equal ends can
    for (var k = 1; k < xs.length; k++) if (xs[k] < xs[k - 1]) xs[k] = xs[k - 1];
    return [xs, on];
  }

  // Time ticks in UTC like the rest of the dashboard, 24 h: "06:00", a date at midnight
  // and for steps of a day or more ("02-03"), the year on the first tick.
  function timeTicks(u, splits, ai, space, incr) {
    return splits.map(function (s, i) {
      var t = iso(s * 1000);
      var md = t.slice(5, 10), hm = t.slice(11, 16);
      var label = incr >= 86400 || hm === "00:00" ? md : hm;
      return i === 0 && incr >= 86400 * 28 ? t.slice(0, 7) : label;
    });
  }

  function axes() {
    var grid = { stroke: colour("--line"), width: 1 };
    var font = "13px system-ui, sans-serif";
    return [
      { stroke: colour("--fg"), grid: grid, ticks: grid, font: font, space: 56, values: timeTicks },
      { stroke: colour("--fg"), grid: grid, ticks: grid, font: font, size: 52, space: 30 },
    ];
  }

  function options(r, width) {
    var small = width < 600;
    var o = {
      width: width,
      height: r.binary ? (small ? 110 : 130) : (small ? 220 : 280),
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false } },
      scales: { x: { time: true } },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      axes: axes(),
      plugins: [markPlugin()],
      hooks: { setSelect: [function (u) {
        if (u.select.width < 5) return;
        var a = u.posToVal(u.select.left, "x") * 1000;
        var b = u.posToVal(u.select.left + u.select.width, "x") * 1000;
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        load(iso(a), iso(b));  // finer data for the zoomed window
      }] },
      legend: { live: true },
    };
    var line = colour("--accent");
    if (r.binary) {
      o.scales.y = { range: [0, 1.05] };
      o.axes[1].values = function (u, vals) { return vals.map(function (v) { return v === 1 ? "on" : v === 0 ? "off" : ""; }); };
      o.axes[1].splits = function () { return [0, 1]; };
      o.series = [
        { value: function (u, v) { return v == null ? "–" : fmt(v * 1000); } },
        { label: "on", stroke: line, fill: colour("--band"), width: 1.5, points: { show: false },
          paths: uPlot.paths.stepped({ align: 1 }),
          value: function (u, v) { return v == null ? "–" : v ? "on" : "off"; } },
      ];
    } else {
      var unit = r.unit ? " " + r.unit : "";
      var val = function (u, v) { return v == null ? "–" : (+v.toFixed(2)) + unit; };
      o.series = [
        { value: function (u, v) { return v == null ? "–" : fmt(v * 1000); } },
        { label: "mean", stroke: line, width: 2, value: val, spanGaps: false },
        { label: "min", stroke: colour("--band"), width: 1, value: val },
        { label: "max", stroke: colour("--band"), width: 1, value: val },
      ];
      o.bands = [{ series: [3, 2], fill: colour("--band") }];
    }
    return o;
  }

  function draw(results, w) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var box = $("charts");
    box.textContent = "";
    if (!w) { $("window").textContent = "Choose a sensor."; return; }
    $("window").textContent = fmt(w.since) + " → " + fmt(w.until) + " UTC";
    results.forEach(function (r) {
      var card = document.createElement("section");
      card.className = "chart";
      card.dataset.sensor = r.sensor;
      var h = document.createElement("h2");
      h.textContent = r.name + " · " + r.node + (r.binary ? "" : " · " + r.unit);
      card.appendChild(h);
      box.appendChild(card);
      var data = r.binary ? binaryData(r, w) : numericData(r, w);
      card.dataset.points = String(r.binary ? r.intervals.length : r.points.length);
      if ((r.binary ? r.intervals.length : r.points.length) === 0) {
        var p = document.createElement("p");
        p.className = "muted empty";
        p.textContent = r.binary ? "Never on in this window." : "No readings in this window.";
        card.appendChild(p);
        if (!r.binary) return;
      }
      var u = new uPlot(options(r, card.clientWidth - 8), data, card);
      u.setScale("x", { min: w.since / 1000, max: w.until / 1000 });
      sync.sub(u);
      charts.push(u);
    });
  }

  function zoom(how) {
    if (!view) return;
    if (how === "reset") { load(); return; }
    var span = view.until - view.since, mid = (view.since + view.until) / 2;
    var a, b;
    if (how === "in") { a = mid - span / 4; b = mid + span / 4; }
    else if (how === "out") { a = mid - span; b = mid + span; }
    else if (how === "left") { a = view.since - span / 2; b = view.until - span / 2; }
    else { a = view.since + span / 2; b = view.until + span / 2; }
    load(iso(a), iso(b));
  }

  document.querySelectorAll("[data-range]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.range = b.dataset.range;
      pressRange();
      if (state.range !== "custom") { saveUrl(); load(); }
    });
  });
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () { zoom(b.dataset.zoom); });
  });
  $("apply").addEventListener("click", function () {
    var s = $("since").value, u = $("until").value;
    state.since = s ? s + ":00Z" : ""; state.until = u ? u + ":00Z" : "";
    saveUrl();
    load();
  });
  if (state.since) $("since").value = state.since.slice(0, 16);
  if (state.until) $("until").value = state.until.slice(0, 16);
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      charts.forEach(function (c) { c.setSize({ width: c.root.parentNode.clientWidth - 8, height: c.height }); });
    }, 150);
  });
  pressRange();
  loadSensors().then(function () { picked(); saveUrl(); load(); });
})();
