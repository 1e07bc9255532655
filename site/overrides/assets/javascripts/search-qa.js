/* vault site: logged Q&A (interactions/) stay out of the search results unless asked for.
 *
 * The pages of `vault ask` interactions are in material's search index with a low boost
 * (front matter `search: {boost: 0.05}`, so they rank after notes and observations).
 * This script adds a checkbox "Include logged Q&A" above the results; while it is off,
 * results whose page is under interactions/ are hidden (class va-qa, CSS in vault.css)
 * and the checkbox says how many are hidden. `?qa=1` in the address turns it on; the
 * choice is kept for the browser tab (sessionStorage). No data from the vault is read
 * here: only the result links material rendered.
 */
(function () {
  "use strict";
  var KEY = "va-search-qa";

  function siteRoot() {
    var el = document.getElementById("__config");
    var base = ".";
    try { base = JSON.parse(el.textContent).base || "."; } catch (e) { /* default */ }
    return new URL(base.replace(/\/?$/, "/"), location.href).href;
  }

  function wanted() {
    if (/[?&]qa=1(?:&|$)/.test(location.search)) return true;
    try { return sessionStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function setup() {
    var result = document.querySelector(".md-search-result");
    var list = document.querySelector(".md-search-result__list");
    var meta = document.querySelector(".md-search-result__meta");
    if (!result || !list || !meta) return;
    var prefix = siteRoot() + "interactions/";

    var label = document.createElement("label");
    label.className = "va-qa-toggle";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.id = "va-qa-toggle";
    var text = document.createElement("span");
    label.appendChild(box);
    label.appendChild(text);
    meta.parentNode.insertBefore(label, meta.nextSibling);

    function isQa(item) {
      var a = item.querySelector("a[href]");
      if (!a) return false;
      var url = new URL(a.getAttribute("href"), location.href).href;
      return url.indexOf(prefix) === 0;
    }

    function update() {
      var n = 0;
      var items = list.querySelectorAll(".md-search-result__item");
      for (var i = 0; i < items.length; i++) {
        var qa = isQa(items[i]);
        items[i].classList.toggle("va-qa", qa);
        if (qa) n++;
      }
      result.classList.toggle("va-qa-on", box.checked);
      var what = "Include logged Q&A";
      if (n) what += box.checked ? " (" + n + " shown)" : " (" + n + " hidden)";
      text.textContent = " " + what;
      label.hidden = !items.length && !n && !meta.textContent.trim();
    }

    box.checked = wanted();
    box.addEventListener("change", function () {
      try { sessionStorage.setItem(KEY, box.checked ? "1" : "0"); } catch (e) { /* private */ }
      update();
    });
    new MutationObserver(update).observe(list, { childList: true, subtree: true });
    update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
