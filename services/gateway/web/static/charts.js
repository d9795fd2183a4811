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
  // A legend (the trend's three series) laid in one row wraps on a phone and was drawn over the x-axis labels:
  // under PHONE px it is one series a line below the labels, the plot raised by its height.
  var PHONE = 600, LEGEND_LINE = 20;
  function legendLayout(element, option, base) {
    if (!option.legend) { return null; }
    var grid = base.grid || {};
    if (element.clientWidth >= PHONE) {
      return { legend: base.legend, grid: grid };
    }
    var lines = [].concat(option.series || []).length;
    return {
      legend: Object.assign({}, base.legend, { orient: "vertical", left: grid.left || 0, bottom: 0, itemGap: 6 }),
      grid: Object.assign({}, grid, { bottom: 40 + lines * LEGEND_LINE })
    };
  }
  function draw() {
    if (typeof window.echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      var option = JSON.parse(element.getAttribute("data-chart"));
      numbersInVietnamese(option);
      var base = { legend: option.legend, grid: option.grid };
      var layout = legendLayout(element, option, base);
      if (layout !== null) { option.legend = layout.legend; option.grid = layout.grid; }
      var width = labelWidth(element, option);
      if (width !== null) { option.xAxis.axisLabel.width = width; }
      chart.on("finished", function () { element.setAttribute("data-rendered", "true"); });
      chart.setOption(option);
      charts.push({ chart: chart, element: element, option: option, base: base });
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) {
        var layout = legendLayout(c.element, c.option, c.base);
        if (layout !== null) { c.chart.setOption(layout); }
        var width = labelWidth(c.element, c.option);
        if (width !== null) { c.chart.setOption({ xAxis: { axisLabel: { width: width } } }); }
        c.chart.resize();
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
