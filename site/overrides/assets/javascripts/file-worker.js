/* Worker stand-in for pages opened from file:// (vault site, offline).
 *
 * Browsers refuse `new Worker(url)` for file:// pages, which would stop the built-in
 * search. On file:// only, this replaces `Worker` with an object that runs the worker
 * script inside a hidden same-origin iframe: messages to the worker are dispatched as
 * "message" events in the iframe, and the script's postMessage() posts back to this
 * window. Same idea as the MIT-licensed iframe-worker package, written for this site.
 */
(function () {
  "use strict";
  if (location.protocol !== "file:" || typeof window.Worker === "undefined") return;

  function FileWorker(url) {
    var self = this;
    this.onmessage = null;
    this.onerror = null;
    this._listeners = { message: [], error: [] };
    this._iframe = document.createElement("iframe");
    this._iframe.hidden = true;
    this._iframe.setAttribute("aria-hidden", "true");
    (document.body || document.documentElement).appendChild(this._iframe);
    var win = this._iframe.contentWindow;
    this._ready = new Promise(function (resolve) {
      var doc = win.document;
      doc.open();
      doc.write(
        "<!doctype html><html><body><script>" +
        "postMessage=function(d){parent.postMessage(d,'*')};" +
        "importScripts=function(){var u=[].slice.call(arguments);" +
        "return u.reduce(function(p,s){return p.then(function(){return new Promise(" +
        "function(r){var e=document.createElement('script');e.src=s;e.onload=r;" +
        "document.body.appendChild(e)})})},Promise.resolve())};" +
        "<\/script><script src=\"" + String(url).replace(/"/g, "&quot;") + "\"><\/script>" +
        "</body></html>");
      doc.close();
      if (doc.readyState === "complete") resolve(); else win.addEventListener("load", resolve);
    });
    this._onMessage = function (ev) {
      if (ev.source !== win) return;
      var event = new MessageEvent("message", { data: ev.data });
      self._emit("message", event);
    };
    window.addEventListener("message", this._onMessage);
  }

  FileWorker.prototype._emit = function (type, event) {
    var handler = this["on" + type];
    if (typeof handler === "function") handler.call(this, event);
    this._listeners[type].slice().forEach(function (fn) { fn.call(this, event); }, this);
  };
  FileWorker.prototype.addEventListener = function (type, fn) {
    (this._listeners[type] = this._listeners[type] || []).push(fn);
  };
  FileWorker.prototype.removeEventListener = function (type, fn) {
    var list = this._listeners[type] || [];
    var i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  };
  FileWorker.prototype.postMessage = function (data) {
    var iframe = this._iframe;
    this._ready.then(function () {
      var win = iframe.contentWindow;
      if (win) win.dispatchEvent(new win.MessageEvent("message", { data: data }));
    });
  };
  FileWorker.prototype.terminate = function () {
    window.removeEventListener("message", this._onMessage);
    this._iframe.remove();
  };

  window.Worker = FileWorker;
})();
