// Draws every element with a data-chart attribute (an ECharts option built by the server) with the
// locally served ECharts, as SVG; marks it data-rendered once drawn, and follows the window's size. A category
// axis that asks for every label (axisLabel.interval 0) has each label wrapped within its category's width, so
// none is dropped nor drawn over its neighbour. Figures (tooltips, bar labels, axis) are written as the page writes
// them (shared.numbers.format_number): decimal comma, thousands dot, at most one decimal ("76,4", "1.234").
(function () {
  "use strict";
  function vietnamese(value) {
    if (value === null || value === undefined || value === "" || value === "-" || isNaN(Number(value))) { return "—"; }
    var number = Number(value);
    var parts = Math.abs(number).toFixed(1).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    var text = whole + (parts[1] === "0" ? "" : "," + parts[1]);
    return (number < 0 && text !== "0" ? "-" : "") + text;
  }
  function numbersInVietnamese(option) {
    if (option.tooltip) { option.tooltip.valueFormatter = vietnamese; }
    [].concat(option.yAxis || []).forEach(function (axis) {
      if (axis.type === "value") { axis.axisLabel = Object.assign({}, axis.axisLabel, { formatter: vietnamese }); }
    });
    [].concat(option.series || []).forEach(function (series) {
      if (series.label && series.label.show) {
        series.label.formatter = function (params) { return vietnamese(params.value); };
      }
    });
  }
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
      numbersInVietnamese(option);
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
