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

  // Nothing chosen in the URL: the numeric sensor with the newest data (of ?node= if it
  // has one), so the page from the nav bar opens on a chart instead of an empty page.
  function defaultSensor(sensors) {
    var numeric = sensors.filter(function (s) { return !s.binary; });
    var mine = numeric.filter(function (s) { return s.node === state.node; });
    var pool = mine.length ? mine : numeric;
    var best = null;
    pool.forEach(function (s) { if (!best || (s.last_day || "") > (best.last_day || "")) best = s; });
    return best ? best.key : null;
  }

  // Sensors in the address as their keys (node/id); one the vault does not have (an old
  // link, a typo) is left out with a note instead of failing every chart.
  function keepKnown(sensors) {
    var known = {}, seen = {};
    sensors.forEach(function (s) {
      known[s.key] = s.key;
      [s.id, s.name].forEach(function (n) {
        if (!n) return;
        seen[n] = (seen[n] || 0) + 1;
        known[n] = seen[n] === 1 ? s.key : null;  // a name two nodes share stays ambiguous
      });
    });
    var missing = [];
    state.sensors = state.sensors.map(function (k) {
      if (!known[k]) missing.push(k);
      return known[k];
    }).filter(function (k, i, all) { return k && all.indexOf(k) === i; });
    var note = $("notice");
    note.textContent = missing.length
      ? "Not a sensor of this vault (left out): " + missing.join(", ") + "." : "";
    note.hidden = !missing.length;
  }

  function loadSensors() {
    return fetch("/api/sensors").then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(t.trim()); });
      return r.json();
    }).then(function (d) {
      var list = $("sensor-list");
      list.textContent = "";
      var node = null;
      keepKnown(d.sensors);
      if (!state.sensors.length) {
        var key = defaultSensor(d.sensors);
        if (key) state.sensors = [key];
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
      if (!d.sensors.length) {
        list.textContent = "No sensor readings in this vault yet: a node's agent writes " +
          "them ('vault agent'); 'vault sensors' lists this node's sensors.";
      }
      $("picker").open = !state.sensors.length;
    }).catch(function (e) {
      $("sensor-list").textContent = "";
      showError("Could not load the sensor list: " + e.message);
    });
  }

  function picked() {
    $("picked").textContent = state.sensors.length
      ? state.sensors.map(function (k) { return k.split("/").pop(); }).join(", ")
      : "none: open this list and tick one or more";
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
      var when = function (o) { return Date.parse(o.start || o.created); };
      marks.sort(function (a, b) { return when(a) - when(b); });
      var ul = $("obs");
      ul.textContent = "";
      marks.forEach(function (o) {
        var li = document.createElement("li");
        var t = document.createElement("time");
        // an observation about a window (a day, two weeks of patterns) shows both ends
        var t0 = when(o), t1 = o.end ? Date.parse(o.end) : t0;
        t.textContent = fmt(t0) + (t1 - t0 > 3600000 ? " → " + endText(t0, t1) : "");
        li.appendChild(t);
        var a = document.createElement(o.url ? "a" : "span");
        if (o.url) a.href = o.url;
        a.textContent = o.title || o.text.slice(0, 80);
        li.appendChild(a);
        var n = document.createElement("span");
        n.className = "muted";
        n.textContent = " · " + o.node + (o.kind === "memory" ? " · memory" : "");
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
            // memory facts summarise weeks: listed below the charts, not marked at a time
            if (o.kind === "memory") return;
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

  // Binary sensors (motion, door). A rollup keeps on-seconds per 5-minute window, so an
  // interval is a few minutes long: over a week that is a fraction of a pixel. The chart
  // draws each on-interval at least MIN_PX wide (a light band, full height: *when*) and,
  // for each bucket of the server's step (about one pixel), the share of it that was on
  // as a solid bar from the bottom, at least MIN_PX tall (*how much*). Hover names the
  // interval under the cursor (start, end, on-time, events) and the bucket's on-time.
  var MIN_PX = 3;

  function binaryData(r, w) {
    // x: the window's ends and each bucket with on-time (series 2: its share of the step);
    // series 1 has no path of its own: binaryPlugin draws the intervals.
    var xs = [w.since / 1000], none = [null], share = [null];
    r.buckets.forEach(function (b) {
      var t = Math.max(Date.parse(b.t), w.since) / 1000;
      var step = (Date.parse(b.end) - Date.parse(b.t)) / 1000 || r.every;
      if (t <= xs[xs.length - 1]) return;
      xs.push(t); none.push(null); share.push(Math.min(1, b.on_s / step));
    });
    if (w.until / 1000 > xs[xs.length - 1]) { xs.push(w.until / 1000); none.push(null); share.push(null); }
    r.spans = r.intervals.map(function (i) {
      return { a: Date.parse(i.start) / 1000, b: Date.parse(i.end) / 1000, iv: i };
    });
    r.steps = r.buckets.map(function (b) {
      return { a: Date.parse(b.t) / 1000, b: Date.parse(b.end) / 1000, bk: b };
    });
    return [xs, none, share];
  }

  // [left, right] of [a, b] seconds, widened about its middle to ``min`` px: in canvas
  // px (``canvas``), else in CSS px from the plot's left edge (where u.cursor.left is).
  // On the canvas the ends are whole pixels, so a narrow span is ``min`` opaque columns
  // rather than antialiased halves.
  function span(u, a, b, min, canvas) {
    var x0 = u.valToPos(a, "x", canvas), x1 = u.valToPos(b, "x", canvas);
    if (x1 - x0 < min) { var mid = (x0 + x1) / 2; x0 = mid - min / 2; x1 = mid + min / 2; }
    if (canvas) { x0 = Math.round(x0); x1 = Math.max(x0 + Math.ceil(min), Math.round(x1)); }
    return [x0, x1];
  }

  function binaryPlugin(r) {
    return { hooks: { draw: function (u) {
      var ctx = u.ctx, min = MIN_PX * devicePixelRatio;
      var top = u.valToPos(1, "y", true), bottom = u.valToPos(0, "y", true);
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      ctx.fillStyle = colour("--on-band");
      r.spans.forEach(function (s) {
        var x = span(u, s.a, s.b, min, true);
        ctx.fillRect(x[0], top, x[1] - x[0], bottom - top);
      });
      ctx.fillStyle = colour("--accent");
      r.steps.forEach(function (s) {
        if (!(s.bk.on_s > 0)) return;
        var x = span(u, s.a, s.b, min, true);
        var h = Math.round(Math.max(min, (bottom - top) * Math.min(1, s.bk.on_s / (s.b - s.a))));
        ctx.fillRect(x[0], Math.round(bottom) - h, x[1] - x[0], h);
      });
      ctx.restore();
    } } };
  }

  function duration(s) {
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    var h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
    if (h < 48) return h + " h" + (m ? " " + m + " min" : "");
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }

  // End of a span as "HH:MM" on the start's day, else in full.
  function endText(a, b) {
    var f = fmt(b);
    return f.slice(0, 10) === fmt(a).slice(0, 10) ? f.slice(11) : f;
  }

  // The interval under the cursor: the one whose drawn span (at least MIN_PX wide, plus
  // a few px to aim at on a touch screen) is nearest to it.
  function hoverInterval(u, r) {
    var x = u.cursor.left;
    if (x == null || x < 0 || !r.spans) return null;
    var best = null, bestD = 6, bestC = Infinity;
    r.spans.forEach(function (s) {
      var p = span(u, s.a, s.b, MIN_PX, false);
      var d = x < p[0] ? p[0] - x : x > p[1] ? x - p[1] : 0;
      var c = Math.abs((p[0] + p[1]) / 2 - x);
      if (d < bestD || (d === bestD && c < bestC)) { best = s; bestD = d; bestC = c; }
    });
    return best;
  }

  function hoverStep(u, r) {
    var x = u.cursor.left;
    if (x == null || x < 0 || !r.steps) return null;
    var t = u.posToVal(x, "x");
    for (var k = 0; k < r.steps.length; k++) {
      if (r.steps[k].a <= t && t < r.steps[k].b) return r.steps[k];
    }
    return null;
  }

  function binarySeries(r, line) {
    var step = duration(r.every);
    return [
      { value: function (u) {  // the time under the cursor, not the nearest bucket's
        var x = u.cursor.left;
        return x == null || x < 0 ? "–" : fmt(u.posToVal(x, "x") * 1000);
      } },
      { label: "on", stroke: line, fill: colour("--on-band"), width: 0, points: { show: false },
        paths: function () { return null; },
        value: function (u) {
          var s = hoverInterval(u, r);
          if (!s) return u.cursor.left >= 0 ? "off" : "–";
          var i = s.iv;
          return fmt(s.a * 1000) + "–" + endText(s.a * 1000, s.b * 1000) + " (" +
            duration(s.b - s.a) + "; on " + duration(i.on_s) +
            (i.events ? ", " + i.events + (i.events === 1 ? " event" : " events") : "") + ")";
        } },
      { label: "on per " + step, stroke: line, fill: line, width: 0, points: { show: false },
        paths: function () { return null; },
        value: function (u) {
          if (u.cursor.left == null || u.cursor.left < 0) return "–";
          var s = hoverStep(u, r);
          return (s ? duration(s.bk.on_s) : "0 s") + " of " + step;
        } },
    ];
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

  // The data point the legend shows: the nearest one, unless it is more than a step and
  // a half away from the cursor (a gap in the data: the legend then shows "–" rather
  // than a value from hours or days away).
  function nearby(r) {
    var far = r.every * 1.5;
    return function (u, si, idx, xv) {
      var x = u.data[0][idx];
      return idx == null || x == null || Math.abs(x - xv) > far ? null : idx;
    };
  }

  function options(r, width) {
    var small = width < 600;
    var o = {
      width: width,
      height: r.binary ? (small ? 150 : 170) : (small ? 220 : 280),
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false }, y: !r.binary },
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
    if (!r.binary) o.cursor.dataIdx = nearby(r);
    var line = colour("--accent");
    if (r.binary) {
      o.scales.y = { range: [0, 1] };
      o.axes[1].values = function (u, vals) { return vals.map(function (v) { return Math.round(v * 100) + "%"; }); };
      o.axes[1].splits = function () { return [0, 0.5, 1]; };
      o.series = binarySeries(r, line);
      o.plugins.unshift(binaryPlugin(r));  // drawn first: observation marks stay on top
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

  // Width in px for a chart inside ``card``: its content box (padding excluded).
  function chartWidth(card) {
    var cs = getComputedStyle(card);
    return Math.max(100, Math.floor(card.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)));
  }

  function draw(results, w) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var box = $("charts");
    box.textContent = "";
    if (!w) {
      $("window").textContent = "No sensor chosen: tick one under “Sensors” above.";
      return;
    }
    $("window").textContent = fmt(w.since) + " → " + fmt(w.until) + " UTC";
    results.forEach(function (r) {
      var card = document.createElement("section");
      card.className = r.binary ? "chart binary" : "chart";
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
      var u = new uPlot(options(r, chartWidth(card)), data, card);
      if (r.binary) {
        var key = document.createElement("p");
        key.className = "muted small key";
        key.textContent = "Light: when it was on (5-minute rollup windows; each interval " +
          "drawn at least " + MIN_PX + " px wide). Solid: the share of each " +
          duration(r.every) + " that was on. Hover or tap for times.";
        card.appendChild(key);
      }
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
      // custom starts from the window on screen, so the dates only need adjusting
      if (state.range === "custom" && view && !$("since").value && !$("until").value) {
        $("since").value = iso(view.since).slice(0, 16);
        $("until").value = iso(view.until).slice(0, 16);
      }
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
  // Keep every chart as wide as its card: a ResizeObserver runs before the next paint, so
  // a phone turned upright (or a window narrowed) never shows a chart wider than the screen.
  function fit() {
    charts.forEach(function (c) {
      var w = chartWidth(c.root.parentNode);
      if (w !== c.width) c.setSize({ width: w, height: c.height });
    });
  }
  // Observed: the line above the charts, as wide as they are but not resized by them
  // (observing #charts itself would re-trigger on the height a resize gives it).
  if (window.ResizeObserver) new ResizeObserver(fit).observe($("window"));
  else window.addEventListener("resize", fit);
  pressRange();
  loadSensors().then(function () { picked(); saveUrl(); load(); });
})();
