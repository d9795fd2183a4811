// Draws every element with a data-chart attribute (an ECharts option built by the server) with the
// locally served ECharts, as SVG; marks it data-rendered once drawn, and follows the window's size. A category
// axis that asks for every label (axisLabel.interval 0) has each label wrapped within its category's width, so
// none is dropped nor drawn over its neighbour; in a window under PHONE px such a bar chart is laid on its side. Figures (tooltips, bar labels, axis) are written as the page writes
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
    [].concat(option.xAxis || [], option.yAxis || []).forEach(function (axis) {
      if (axis.type === "value") { axis.axisLabel = Object.assign({}, axis.axisLabel, { formatter: vietnamese }); }
    });
    [].concat(option.series || []).forEach(function (series) {
      if (series.label && series.label.show) {
        series.label.formatter = function (params) { return vietnamese(params.value); };
      }
    });
  }
  // A wrapped label's lines were drawn 12 px apart in 12 px type: a line's Vietnamese marks (the "ờ" of "thường")
  // ran into the line above. Category labels get LINE_HEIGHT px lines and sit MARGIN px off their axis, clear of
  // the value axis's "0" at the corner.
  var LINE_HEIGHT = 16, MARGIN = 12;
  function everyLabel(axis) {
    return !!axis && axis.type === "category" && !!axis.axisLabel && axis.axisLabel.interval === 0;
  }
  function labelWidth(element, option) {
    var grid = option.grid || {};
    // containLabel puts the value axis's labels inside the grid: about Y_LABELS px the bars do not get
    var plot = element.clientWidth - (grid.left || 0) - (grid.right || 0) - (grid.containLabel ? Y_LABELS : 0);
    return Math.max(24, Math.floor(plot / Math.max(1, (option.xAxis.data || []).length)) - 8);
  }
  var Y_LABELS = 32;
  // A legend (the trend's three series) laid in one row wraps on a phone and was drawn over the x-axis labels:
  // under PHONE px it is one series a line below the labels, the plot raised by its height.
  var PHONE = 600, LEGEND_LINE = 20;
  function legendLayout(element, option) {
    if (!option.legend) { return; }
    if (element.clientWidth >= PHONE) { return; }
    var grid = option.grid || {};
    var lines = [].concat(option.series || []).length;
    option.legend = Object.assign({}, option.legend, { orient: "vertical", left: grid.left || 0, bottom: 0, itemGap: 6 });
    option.grid = Object.assign({}, grid, { bottom: 40 + lines * LEGEND_LINE });
  }
  // On a phone (a window under PHONE px) a bar chart naming every bar has too little width under each bar for a long name ("Chưa sinh hoạt
  // thường kỳ" wrapped to a word a line, cut off at the chart's foot): it is laid on its side, each name on the left
  // within HORIZONTAL_LABELS of the chart's width, in the order the server gives, the figures at the bars' ends.
  var HORIZONTAL_LABELS = 0.42;
  function allBars(option) {
    var series = [].concat(option.series || []);
    return series.length > 0 && series.every(function (s) { return s.type === "bar"; });
  }
  function horizontal(element, option) {
    var category = option.xAxis;
    option.xAxis = Object.assign({}, option.yAxis, { splitNumber: 3 });
    option.yAxis = Object.assign({}, category, {
      inverse: true,
      axisLabel: Object.assign({}, category.axisLabel, {
        width: Math.floor(element.clientWidth * HORIZONTAL_LABELS), overflow: "break"
      })
    });
    option.grid = Object.assign({}, option.grid, { left: 8, right: 32, top: 8, bottom: 8, containLabel: true });
    option.series = [].concat(option.series).map(function (s) {
      return s.label && s.label.show ? Object.assign({}, s, { label: Object.assign({}, s.label, { position: "right" }) }) : s;
    });
  }
  function spaced(axis) {
    if (!axis || axis.type !== "category") { return; }
    axis.axisLabel = Object.assign({}, axis.axisLabel, { lineHeight: LINE_HEIGHT, margin: MARGIN });
  }
  // The option drawn at the element's present width, built afresh from the server's (`source`, left untouched).
  function laid(element, source) {
    var option = JSON.parse(JSON.stringify(source));
    legendLayout(element, option);
    if (everyLabel(option.xAxis)) {
      if (window.innerWidth < PHONE && allBars(option)) {
        horizontal(element, option);
      } else {
        option.xAxis.axisLabel.width = labelWidth(element, option);
      }
    }
    spaced(option.xAxis);
    spaced(option.yAxis);
    numbersInVietnamese(option);
    return option;
  }
  function draw() {
    if (typeof window.echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      var source = JSON.parse(element.getAttribute("data-chart"));
      chart.on("finished", function () { element.setAttribute("data-rendered", "true"); });
      chart.setOption(laid(element, source));
      charts.push({ chart: chart, element: element, source: source });
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) {
        c.chart.resize();
        c.chart.setOption(laid(c.element, c.source), { notMerge: true });
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
