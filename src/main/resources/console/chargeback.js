/* Chargeback page: per-namespace CPU and memory of one UTC month, from the hourly metering rollups. */
'use strict';

(() => {
  const P = prom2pg;
  const MEASURES = ['cpu_request_core_hours', 'cpu_usage_core_hours', 'memory_request_gib_hours', 'memory_usage_gib_hours'];
  const monthInput = document.getElementById('month');
  const measureSelect = document.getElementById('measure');
  let answer = null;

  function fixed(v) {
    return v === null || v === undefined || !isFinite(v) ? P.DASH : Number(v).toFixed(2);
  }

  function measureLabel() {
    return measureSelect.options[measureSelect.selectedIndex].textContent;
  }

  function drawChart() {
    const a = answer;
    if (!a || !(a.namespaces || []).length) return;
    const measure = measureSelect.value;
    const unit = measure.startsWith('cpu') ? 'core-hours' : 'GiB-hours';
    P.setText('chart-title', measureLabel() + ' per UTC day, stacked by namespace');
    P.draw('chargeback', {
      tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}, confine: true,
        valueFormatter: v => fixed(v) + ' ' + unit},
      legend: {type: 'scroll', top: 0},
      grid: {left: 64, right: 16, top: 36, bottom: 28},
      xAxis: {type: 'category', data: a.days, axisLabel: {formatter: d => d.slice(5)}},
      yAxis: {type: 'value', name: unit, nameGap: 8, nameTextStyle: {align: 'left'},
        axisLabel: {formatter: v => P.num(v)}},
      series: a.namespaces.map(ns => ({
        name: ns.namespace, type: 'bar', stack: 'namespaces', barMaxWidth: 24,
        data: a.days.map((d, i) => (ns[measure] || [])[i] ?? null),
      })),
    });
  }

  function drawTable(a) {
    const sums = Object.fromEntries(MEASURES.map(m => [m, 0]));
    P.fillBody('chargeback-table', a.namespaces.map(ns => {
      const t = ns.totals || {};
      for (const m of MEASURES) sums[m] += Number(t[m]) || 0;
      return P.el('tr', {'data-namespace': ns.namespace},
        P.el('td', {class: 'mono'}, ns.namespace),
        ...MEASURES.map(m => P.el('td', {class: 'num'}, fixed(t[m]))));
    }));
    document.getElementById('chargeback-totals').replaceChildren(
      P.el('td', {}, 'Total (' + a.namespaces.length + ' namespaces)'),
      ...MEASURES.map(m => P.el('td', {class: 'num'}, fixed(sums[m]))));
  }

  function draw(a) {
    if (/^\d{4}-\d{2}$/.test(a.month || '')) monthInput.value = a.month;
    P.setText('table-month', a.month);
    P.setText('range', a.first_month
      ? 'metering data from ' + a.first_month + ' to ' + a.last_month
      : 'no metering data stored yet');

    if (a.downloads) {
      document.getElementById('download-csv').setAttribute('href', a.downloads.csv);
      document.getElementById('download-json').setAttribute('href', a.downloads.json);
      document.getElementById('downloads').hidden = false;
    }

    const empty = !(a.namespaces || []).length;
    document.getElementById('empty').hidden = !empty;
    document.getElementById('report').hidden = empty;
    if (empty) {
      P.setText('empty-month', a.month || 'this month');
      const hint = document.getElementById('empty-hint');
      hint.hidden = !a.first_month;
      hint.textContent = a.first_month
        ? 'Metering data exists from ' + a.first_month + ' to ' + a.last_month + '; pick a month in that range.'
        : '';
      return;
    }
    drawTable(a);
    drawChart();
  }

  // The month is a reload, so the URL always names what is shown; the measure only redraws.
  monthInput.addEventListener('change', () => {
    const p = P.params();
    if (monthInput.value) p.set('month', monthInput.value); else p.delete('month');
    location.search = p.toString();
  });

  measureSelect.addEventListener('change', () => {
    const p = P.params();
    p.set('measure', measureSelect.value);
    P.replaceParams(p);
    drawChart();
  });

  async function start() {
    const p = P.params();
    if (MEASURES.includes(p.get('measure'))) measureSelect.value = p.get('measure');
    const month = p.get('month');
    // Assigning a malformed value makes the browser warn; the server explains the error instead.
    if (/^\d{4}-\d{2}$/.test(month || '')) monthInput.value = month;
    try {
      answer = await P.fetchJson('api/chargeback' + (month ? '?month=' + encodeURIComponent(month) : ''));
      draw(answer);
      P.clearError();
    } catch (e) {
      P.showError(e);
    } finally {
      P.setLoaded();
    }
  }

  start();
})();
