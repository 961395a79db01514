// Draws every <div data-plotly="ID"> from the JSON in <script id="ID" type="application/json">
// (written by Django's json_script, so untrusted text inside a figure stays inert).
(function () {
  // plotly.js sets the style attribute of a few SVG elements (heatmap cells) with setAttribute, which
  // the Content-Security-Policy refuses (style-src without 'unsafe-inline'); the same declarations set
  // through the CSSOM are allowed, so SVG elements take them that way.
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof SVGElement && String(name).toLowerCase() === "style") {
      this.style.cssText = String(value);
      return;
    }
    return setAttribute.apply(this, arguments);
  };

  function draw(root) {
    root.querySelectorAll("[data-plotly]").forEach(function (el) {
      var source = document.getElementById(el.dataset.plotly);
      if (!source || !window.Plotly) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(el, figure.data, figure.layout, { displaylogo: false, responsive: true });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
