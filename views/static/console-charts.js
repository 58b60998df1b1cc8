// 统计概览: draws each chart from the data its table beside it also shows (Apache ECharts,
// served by the provider itself). Without script the tables carry the same numbers.
const palette = ['#1f5fbf', '#2e8b57', '#d4801a', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d'];
for (const element of document.querySelectorAll('.chart[data-chart]')) {
  const chart = JSON.parse(element.dataset.chart);
  const instance = window.echarts.init(element, null, { renderer: 'svg' });
  const base = {
    color: palette,
    animation: false,
    tooltip: { trigger: chart.kind === 'pie' ? 'item' : 'axis' },
    legend: { top: 0 },
  };
  if (chart.kind === 'pie') {
    instance.setOption({
      ...base,
      series: [
        {
          type: 'pie',
          radius: ['35%', '65%'],
          label: { formatter: '{b}\n{c}（{d}%）' },
          data: chart.categories.map((name, i) => ({ name, value: chart.series[0].data[i] })),
        },
      ],
    });
  } else {
    instance.setOption({
      ...base,
      grid: { left: 40, right: 16, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: chart.categories.map((d) => d.slice(5)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: chart.series.map((s) => ({
        name: s.name,
        type: chart.kind,
        data: s.data,
        ...(chart.stacked ? { stack: 'total' } : {}),
      })),
    });
  }
  window.addEventListener('resize', () => instance.resize());
}
