// Draws every element with a data-chart attribute (an ECharts option built by the server) with the
// locally served ECharts, as SVG; marks it data-rendered once drawn, and follows the window's size. A category
// axis that asks for every label (axisLabel.interval 0) has each label wrapped within its category's width, so
// none is dropped nor drawn over its neighbour.
(function () {
  "use strict";
  function labelWidth(element, option) {
    var axis = option.xAxis;
    if (!axis || axis.type !== "category" || !axis.axisLabel || axis.axisLabel.interval !== 0) { return null; }
    var grid = option.grid || {};
    var plot = element.clientWidth - (grid.left || 0) - (grid.right || 0);
    return Math.max(24, Math.floor(plot / Math.max(1, (axis.data || []).length)) - 8);
  }
  function draw() {
    if (typeof window.echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      var option = JSON.parse(element.getAttribute("data-chart"));
      var width = labelWidth(element, option);
      if (width !== null) { option.xAxis.axisLabel.width = width; }
      chart.on("finished", function () { element.setAttribute("data-rendered", "true"); });
      chart.setOption(option);
      charts.push({ chart: chart, element: element, option: option });
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) {
        var width = labelWidth(c.element, c.option);
        if (width !== null) { c.chart.setOption({ xAxis: { axisLabel: { width: width } } }); }
        c.chart.resize();
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
