/* The console's interactive charts (server/console/charts.py).
 *
 * Each chart is a <figure class="chart" data-chart="NAME" data-spec="JSON"> holding the static
 * SVG the server drew (what a browser without JavaScript shows); its Vega-Lite spec is the
 * data-spec attribute (not a <script> block: htmx drops script elements from swapped content).
 * This draws the spec with vega-embed into the figure's .chart-live box and, once drawn, hides
 * the static SVG. It runs on load and after each htmx swap.
 *
 * The page's Content Security Policy has script-src 'self' and no 'unsafe-eval', so Vega's
 * default expression compiler (new Function) is not allowed: ast: true makes vega-embed parse
 * expressions to a syntax tree and run them with the CSP-safe interpreter it bundles
 * (vega-interpreter). defaultStyle: false and the tooltip's disableDefaultStyle keep vega-embed
 * and vega-tooltip from adding <style> elements (style-src 'self': their rules are in
 * console.css). actions: false: no menu, whose "Open in Vega Editor" sends the spec to another
 * host.
 */
(function () {
  "use strict";

  var OPTIONS = {
    actions: false,
    ast: true,
    renderer: "svg",
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true, theme: "light" },
  };

  function draw(figure) {
    var text = figure.getAttribute("data-spec");
    var live = figure.querySelector(".chart-live");
    if (!text || !live || figure.getAttribute("data-drawn")) {
      return;
    }
    var spec;
    try {
      spec = JSON.parse(text);
    } catch (problem) {
      console.warn("chart " + figure.getAttribute("data-chart") + ": bad spec", problem);
      return;
    }
    figure.setAttribute("data-drawn", "pending");
    window
      .vegaEmbed(live, spec, OPTIONS)
      .then(function () {
        figure.setAttribute("data-drawn", "live");
        figure.classList.add("is-live");
      })
      .catch(function (problem) {
        figure.setAttribute("data-drawn", "failed");
        console.warn("chart " + figure.getAttribute("data-chart") + " not drawn", problem);
      });
  }

  function drawAll() {
    if (typeof window.vegaEmbed !== "function") {
      return; // scripts blocked or missing: the static SVG stays
    }
    var figures = document.querySelectorAll("figure.chart[data-chart]");
    for (var i = 0; i < figures.length; i += 1) {
      draw(figures[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  // A look-up's result is swapped in by htmx: draw the charts it brought.
  document.addEventListener("htmx:afterSettle", drawAll);
})();
