/* Cardinality page: the metrics with the most series, and the labels of one chosen metric. */
'use strict';

(() => {
  const P = prom2pg;
  let seriesTotal = 0;
  let selected = null;
  let request = 0; // answers to an older choice are dropped when a newer one was made

  function readAt(ms) {
    return 'read at ' + P.utc(ms) + ' (' + P.age(ms) + ')';
  }

  // Long metric and label names must not push the bars out of the card.
  function horizontalBars(categories, values, seriesName) {
    return {
      tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}, valueFormatter: v => P.num(v)},
      grid: {left: 8, right: 24, top: 8, bottom: 24, containLabel: true},
      xAxis: {type: 'value', minInterval: 1, axisLabel: {formatter: v => P.num(v)}},
      yAxis: {type: 'category', inverse: true, data: categories,
        axisLabel: {width: 180, overflow: 'truncate', interval: 'auto'}},
      series: [{name: seriesName, type: 'bar', barMaxWidth: 16, data: values}],
    };
  }

  function markSelected() {
    for (const tr of document.querySelectorAll('#metrics-table tbody tr')) {
      tr.classList.toggle('selected', tr.dataset.metric === selected);
    }
  }

  function drawMetrics(c) {
    seriesTotal = c.series_total || 0;
    const metrics = c.metrics || [];
    P.setText('series-total', '(top ' + metrics.length + ' of ' + P.num(seriesTotal) + ' series)');
    P.setText('read-at', readAt(c.read_at));
    P.fillBody('metrics-table', metrics.map(m => {
      const link = P.el('a', {href: '?metric=' + encodeURIComponent(m.name), class: 'mono'}, m.name);
      link.addEventListener('click', ev => {
        // A plain click stays on the page; modified clicks may still open a new tab.
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        choose(m.name);
      });
      const share = seriesTotal > 0 ? (100 * m.series / seriesTotal).toFixed(1) + ' %' : P.DASH;
      return P.el('tr', {'data-metric': m.name},
        P.el('td', {}, link),
        P.el('td', {class: 'num', title: String(m.series)}, P.num(m.series)),
        P.el('td', {class: 'num'}, share));
    }));
    document.getElementById('metrics-empty').hidden = metrics.length > 0;
    markSelected();
    P.draw('metrics', horizontalBars(metrics.map(m => m.name), metrics.map(m => m.series), 'series'));
  }

  function drawLabels(d) {
    const labels = d.labels || [];
    P.setText('metric-name', d.metric);
    const share = seriesTotal > 0 ? ', ' + (100 * d.series / seriesTotal).toFixed(1) + ' % of all series' : '';
    P.setText('metric-summary', P.num(d.series) + ' series' + share + ' · ' + labels.length + ' labels');
    P.setText('metric-read-at', readAt(d.read_at));
    const truncated = document.getElementById('truncated');
    truncated.hidden = !d.truncated;
    truncated.textContent = d.truncated
      ? 'truncated: only the first ' + d.scanned + ' of ' + d.series
        + ' series were read, so the label counts below are lower bounds.'
      : '';

    P.fillBody('labels-table', labels.map(l => P.el('tr', {'data-label': l.name},
      P.el('td', {class: 'mono'}, l.name),
      P.el('td', {class: 'num', title: String(l.values)}, P.num(l.values)),
      P.el('td', {class: 'mono'}, (l.top || []).map(t => (t.value === '' ? '""' : t.value) + ' (' + t.series + ')').join(', ')))));
    document.getElementById('labels-empty').hidden = labels.length > 0;

    // The chart is created only once its card is visible, so ECharts measures a real size.
    document.getElementById('metric-detail').hidden = false;
    P.draw('labels', horizontalBars(labels.map(l => l.name), labels.map(l => l.values), 'distinct values'));
  }

  async function loadMetric(name) {
    const mine = ++request;
    try {
      const d = await P.fetchJson('api/cardinality?metric=' + encodeURIComponent(name));
      if (mine !== request) return;
      drawLabels(d);
    } catch (e) {
      if (mine !== request) return;
      document.getElementById('metric-detail').hidden = true;
      P.showError(e);
    }
  }

  async function choose(name) {
    P.setLoading();
    selected = name;
    const p = P.params();
    p.set('metric', name);
    P.replaceParams(p);
    markSelected();
    P.clearError();
    await loadMetric(name);
    P.setLoaded();
  }

  async function start() {
    selected = P.params().get('metric');
    try {
      drawMetrics(await P.fetchJson('api/cardinality'));
      P.clearError();
    } catch (e) {
      P.showError(e);
    }
    if (selected) await loadMetric(selected);
    P.setLoaded();
  }

  start();
})();
