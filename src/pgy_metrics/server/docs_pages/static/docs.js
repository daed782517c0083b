// The docs pages' behaviour: tabs (WAI-ARIA tabs pattern), copy buttons, the health widget fed
// by /status, and the timing of each base URL. No request leaves this server but the timing of
// the base URLs the operator configured.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("docs-config").textContent);
  var t = config.text;

  // Tabs: click or Left/Right/Home/End move the selection; only the selected tab is in the
  // tab order, and its panel follows it.
  document.querySelectorAll('[role="tablist"]').forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    function select(tab, focus) {
      tabs.forEach(function (other) {
        var chosen = other === tab;
        other.setAttribute("aria-selected", chosen ? "true" : "false");
        other.tabIndex = chosen ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
      });
      if (focus) { tab.focus(); }
    }
    tabs.forEach(function (tab, index) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
        else if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
        else if (event.key === "Home") { next = tabs[0]; }
        else if (event.key === "End") { next = tabs[tabs.length - 1]; }
        if (next) { event.preventDefault(); select(next, true); }
      });
    });
  });

  // Copy: the sample's text as shown; the button says whether it worked.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent;
      var copying = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); })
        : fallbackCopy(text);
      copying.then(
        function () { button.textContent = t.copied; },
        function () { button.textContent = t.copy_failed; }
      ).then(function () {
        setTimeout(function () { button.textContent = t.copy; }, 2000);
      });
    });
  });

  // Health: the label /status gives the endpoint (its subject is the endpoint's name) and
  // when it last changed; "No data" when /status has no such subject.
  var labels = document.querySelectorAll("[data-health]");
  function showHealth(report) {
    var bySubject = {};
    (report.subjects || []).forEach(function (item) { bySubject[item.subject] = item; });
    labels.forEach(function (element) {
      var item = bySubject[element.getAttribute("data-health")];
      var label = item ? item.label : "No data";
      element.textContent = label;
      element.setAttribute("data-label", label);
    });
    var since = document.getElementById("health-since");
    if (since) {
      var mine = bySubject[config.endpoint];
      since.textContent = mine ? t.health_since + " " + mine.changed_at : "";
      since.setAttribute("data-changed-at", mine ? mine.changed_at : "");
    }
  }
  function refreshHealth() {
    fetch("/status", { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(showHealth)
      .catch(function () { showHealth({ subjects: [] }); });
  }
  if (labels.length) {
    refreshHealth();
    setInterval(refreshHealth, config.health_refresh_ms);
  }

  // Environments: time a cheap request (/healthz) to each base URL from this browser and
  // recommend the fastest. "no-cors" needs nothing of the other server but an answer.
  var rows = Array.prototype.slice.call(document.querySelectorAll("#bases tr[data-base]"));
  function time(row) {
    var cell = row.querySelector(".duration");
    cell.textContent = t.measuring;
    cell.classList.remove("best");
    var started = performance.now();
    return fetch(row.getAttribute("data-base") + "/healthz", { mode: "no-cors", cache: "no-store" })
      .then(function () {
        var ms = Math.round(performance.now() - started);
        cell.textContent = String(ms);
        return { row: row, ms: ms };
      }, function () {
        cell.textContent = t.unreachable;
        return null;
      });
  }
  // The samples follow the recommendation: each base URL in their text becomes the fastest.
  function useBase(name, url) {
    var shown = document.getElementById("samples-base");
    var current = shown.getAttribute("data-base");
    if (current === url) { return; }
    document.querySelectorAll("code.sample[data-sample]").forEach(function (code) {
      code.textContent = code.textContent.split(current).join(url);
    });
    shown.setAttribute("data-base", url);
    shown.textContent = name + " (" + url + ")";
  }
  function measure() {
    var fastest = document.getElementById("fastest");
    fastest.textContent = t.measuring;
    // One after the other: parallel requests would time each other's contention.
    var results = [];
    rows.reduce(function (chain, row) {
      return chain.then(function () { return time(row).then(function (r) { results.push(r); }); });
    }, Promise.resolve()).then(function () {
      var best = null;
      results.forEach(function (r) { if (r && (best === null || r.ms < best.ms)) { best = r; } });
      if (best === null) { fastest.textContent = t.unreachable; return; }
      best.row.querySelector(".duration").classList.add("best");
      fastest.setAttribute("data-fastest", best.row.getAttribute("data-name"));
      fastest.textContent = t.fastest.replace("{name}", best.row.getAttribute("data-name"))
        .replace("{ms}", String(best.ms));
      useBase(best.row.getAttribute("data-name"), best.row.getAttribute("data-base"));
    });
  }
  if (rows.length > 1) {
    document.getElementById("measure").addEventListener("click", measure);
    measure();
  }
})();
