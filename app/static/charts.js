/* Bar charts (data-chart: {labels, series}) drawn with the vendored ECharts: 评估结果 (each
   question's distribution) and the home page's dashboard. The numbers are also in the table
   under each chart; without script the page still says everything. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var charts = [];
  var nodes = document.querySelectorAll(".malan-chart[data-chart]");
  for (var i = 0; i < nodes.length; i++) {
    var node = nodes[i];
    var data;
    try { data = JSON.parse(node.getAttribute("data-chart")); } catch (e) { continue; }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { show: data.series.length > 1, top: 0 },
      grid: { left: 36, right: 12, top: data.series.length > 1 ? 30 : 12, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, fontSize: 11 } },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, label: { show: true, position: "top" } };
      })
    });
    node.setAttribute("data-drawn", "1");
    charts.push(chart);
  }
  window.addEventListener("resize", function () {
    for (var j = 0; j < charts.length; j++) { charts[j].resize(); }
  });
})();
