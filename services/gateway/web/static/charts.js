// Draws every element with a data-chart attribute (an ECharts option built by the server) with the
// locally served ECharts, as SVG; marks it data-rendered once drawn, and follows the window's size.
(function () {
  "use strict";
  function draw() {
    if (typeof window.echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      chart.on("finished", function () { element.setAttribute("data-rendered", "true"); });
      chart.setOption(JSON.parse(element.getAttribute("data-chart")));
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
