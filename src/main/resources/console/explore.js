/* Explore page: draw the raw samples of the series a selector matches, over a UTC time range. */
'use strict';

(() => {
  const P = prom2pg;
  const form = document.getElementById('query-form');
  const matchInput = document.getElementById('match');
  const startInput = document.getElementById('start');
  const endInput = document.getElementById('end');
  let request = 0; // an answer to an older run is dropped when a newer run was started

  // datetime-local has no zone; this page reads and writes it as UTC.
  function toInput(ms) {
    const d = new Date(ms);
    return isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 19);
  }

  function fromInput(value) {
    if (!value) return null;
    const ms = Date.parse(value + 'Z');
    return isNaN(ms) ? null : ms;
  }

  // URL times are epoch seconds; RFC 3339 is accepted too, as the API does.
  function fromParam(value) {
    if (value === null || value === '') return null;
    if (/^-?\d+(\.\d+)?$/.test(value)) return Math.round(parseFloat(value) * 1000);
    const ms = Date.parse(value);
    return isNaN(ms) ? null : ms;
  }

  function quote(v) {
    return '"' + String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
  }

  /** A label set as name{a="b", c="d"}, labels in the order the server sent them. */
  function seriesName(labels) {
    const pairs = Object.entries(labels || {})
      .filter(([k]) => k !== '__name__')
      .map(([k, v]) => k + '=' + quote(v));
    return ((labels && labels.__name__) || '') + '{' + pairs.join(', ') + '}';
  }

  function setRange(seconds) {
    const end = Math.floor(Date.now() / 1000) * 1000;
    startInput.value = toInput(end - seconds * 1000);
    endInput.value = toInput(end);
  }

  function drawAnswer(a, start, end) {
    const series = a.series || [];
    P.draw('explore', {
      tooltip: {trigger: 'axis', confine: true, valueFormatter: v => P.num(v)},
      legend: {type: 'scroll', top: 0},
      grid: {left: 56, right: 16, top: 36, bottom: 28},
      xAxis: {type: 'time', min: start, max: end, axisLabel: {hideOverlap: true}},
      yAxis: {type: 'value', scale: true, axisLabel: {formatter: v => P.num(v)}},
      series: series.map(s => ({
        name: seriesName(s.labels), type: 'line', showSymbol: false, sampling: 'lttb',
        data: s.points || [],
      })),
    });
    const summary = document.getElementById('summary');
    summary.textContent = series.length + ' series, ' + (a.samples || 0) + ' samples';
    summary.title = a.max_samples ? 'at most ' + a.max_samples + ' samples per query' : '';
    document.getElementById('no-series').hidden = series.length > 0;
  }

  function clearAnswer() {
    P.draw('explore', {series: []});
    P.setText('summary', '');
    document.getElementById('no-series').hidden = true;
  }

  async function run() {
    const mine = ++request;
    P.setLoading();
    P.clearError();
    const match = matchInput.value.trim();
    const start = fromInput(startInput.value);
    const end = fromInput(endInput.value);
    try {
      if (!match) throw new Error('enter a series selector, for example up{job="node"}');
      if (start === null || end === null) throw new Error('enter a start and an end time (UTC)');
      if (start >= end) throw new Error('the start time must be before the end time');

      const startS = Math.floor(start / 1000);
      const endS = Math.ceil(end / 1000);
      const q = new URLSearchParams({match, start: String(startS), end: String(endS)});
      P.replaceParams(q);
      const a = await P.fetchJson('api/query?' + q.toString());
      if (mine !== request) return;
      drawAnswer(a, start, end);
    } catch (e) {
      if (mine !== request) return;
      clearAnswer();
      P.showError(e);
    }
    P.setLoaded();
  }

  form.addEventListener('submit', ev => {
    ev.preventDefault();
    run();
  });

  for (const b of document.querySelectorAll('button[data-range]')) {
    b.addEventListener('click', () => {
      setRange(Number(b.dataset.range));
      if (matchInput.value.trim()) run();
    });
  }

  function start() {
    const p = P.params();
    const start = fromParam(p.get('start'));
    const end = fromParam(p.get('end'));
    if (start !== null && end !== null && toInput(start) && toInput(end)) {
      startInput.value = toInput(start);
      endInput.value = toInput(end);
    } else {
      setRange(3600);
    }
    const match = p.get('match');
    // The chart exists from the start, so the page has one stable chart instance to redraw.
    P.chart('explore');
    if (match) {
      matchInput.value = match;
      run();
    } else {
      document.getElementById('summary').textContent = 'enter a series selector and run the query';
      P.setLoaded();
    }
  }

  start();
})();
