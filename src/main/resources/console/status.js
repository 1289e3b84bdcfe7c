/* Status page: ingest rates, latency, new series, maintenance, HA and storage; refreshed every 10 s. */
'use strict';

(() => {
  const P = prom2pg;
  const REFRESH_MS = 10000;

  function last(values) {
    return values && values.length ? values[values.length - 1] : null;
  }

  function pairs(time, values) {
    return time.map((t, i) => [t, values && values[i] !== undefined ? values[i] : null]);
  }

  function timeAxis(extra) {
    return Object.assign({type: 'time', axisLabel: {hideOverlap: true}}, extra);
  }

  function drawCards(s) {
    const ready = document.getElementById('card-readiness');
    ready.classList.toggle('ok', !!s.ready);
    ready.classList.toggle('bad', !s.ready);
    P.setText('readiness', s.ready ? 'ready' : (s.readiness || 'not ready'));

    const h = s.history || {};
    P.setText('received', P.num(last(h.received)));
    P.setText('written', P.num(last(h.written)));
    // an HA follower's copies and a retry's repeats are not stored by design: not refusals
    const refused = Object.entries(h.rejected || {})
      .filter(([reason]) => reason !== 'ha_follower' && reason !== 'duplicate')
      .reduce((sum, [, v]) => sum + (last(v) || 0), 0);
    P.setText('rejected', 'samples/s · refused ' + P.num(refused) + '/s');

    const series = s.series || {};
    P.setText('series-total', P.num(series.total));
    const perMinute = (series.new_per_minute && series.new_per_minute.count) || [];
    P.setText('series-new', P.num(perMinute.reduce((a, b) => a + b, 0)) + ' new in the last hour');

    const st = s.storage || {};
    P.setText('head-bytes', P.bytes(st.head_bytes));
    P.setText('sealed-bytes', P.bytes(st.sealed_bytes));
    P.setText('oldest-unsealed', st.oldest_unsealed_age_seconds === null || st.oldest_unsealed_age_seconds === undefined
      ? 'nothing unsealed' : 'oldest unsealed ' + P.duration(st.oldest_unsealed_age_seconds) + ' old');

    P.setText('interval', s.interval_seconds ? '(' + s.interval_seconds + ' s intervals, last hour)' : '');
    P.setText('updated', 'updated ' + P.utc(s.now));
  }

  function drawCharts(s) {
    const h = s.history || {};
    const time = h.time || [];
    const line = (name, values) => ({name, type: 'line', showSymbol: false, data: pairs(time, values)});

    const ingest = [line('received', h.received), line('written', h.written)];
    for (const [reason, values] of Object.entries(h.rejected || {})) {
      ingest.push(line('rejected: ' + reason, values));
    }
    P.draw('ingest', {
      tooltip: {trigger: 'axis', valueFormatter: v => P.num(v) + '/s'},
      legend: {type: 'scroll', top: 0},
      xAxis: timeAxis(),
      yAxis: {type: 'value', axisLabel: {formatter: v => P.num(v)}},
      series: ingest,
    });

    P.draw('latency', {
      tooltip: {trigger: 'axis', valueFormatter: v => P.seconds(v)},
      legend: {top: 0},
      xAxis: timeAxis(),
      yAxis: {type: 'value', axisLabel: {formatter: v => P.seconds(v)}},
      // intervals without a write request have no latency: join the ones that have, and mark each
      series: [line('mean', h.latency_mean_seconds), line('p99', h.latency_p99_seconds)]
        .map(l => Object.assign(l, {connectNulls: true, showSymbol: true, symbolSize: 4})),
    });

    const perMinute = (s.series && s.series.new_per_minute) || {time: [], count: []};
    P.draw('series', {
      tooltip: {trigger: 'axis', valueFormatter: v => P.num(v) + ' new'},
      xAxis: timeAxis({min: s.now - 3600 * 1000, max: s.now}),
      yAxis: {type: 'value', minInterval: 1, axisLabel: {formatter: v => P.num(v)}},
      series: [{name: 'new series', type: 'bar', barMaxWidth: 8, data: pairs(perMinute.time || [], perMinute.count)}],
    });
  }

  function when(ms, now) {
    return P.el('span', {title: ms === null || ms === undefined ? null : P.utc(ms)}, P.age(ms, now));
  }

  function drawTables(s) {
    const now = s.now;
    const maintenance = s.maintenance || [];
    P.fillBody('maintenance-table', maintenance.map(m => {
      // A failure after the last success means the route is failing right now, not in the past.
      const failing = m.failures > 0 && m.last_failure !== null && m.last_failure !== undefined
        && (m.last_success === null || m.last_success === undefined || m.last_failure > m.last_success);
      return P.el('tr', {class: failing ? 'bad' : null, 'data-route': m.route},
        P.el('td', {class: 'mono'}, m.route),
        P.el('td', {class: 'num'}, P.num(m.runs)),
        P.el('td', {class: 'num'}, P.num(m.failures)),
        P.el('td', {}, when(m.last_success, now)),
        P.el('td', {}, when(m.last_failure, now)));
    }));
    document.getElementById('maintenance-empty').hidden = maintenance.length > 0;

    const ha = s.ha || [];
    P.fillBody('ha-table', ha.map(c => P.el('tr', {'data-cluster': c.cluster},
      P.el('td', {class: 'mono'}, c.cluster),
      P.el('td', {class: 'mono'}, c.leader),
      // the leader's every write renews its lease: a lease that ran out means nobody writes
      P.el('td', {}, when(c.last_write, now), ' ',
        P.el('span', {class: c.lease_until < now ? 'warn' : 'muted', title: 'lease until ' + P.utc(c.lease_until)},
          c.lease_until < now ? '(lease ran out ' + P.age(c.lease_until, now) + ')' : '')),
      P.el('td', {}, when(c.changed_at, now)),
      P.el('td', {}, when(c.leader_time, now)))));
    document.getElementById('ha-empty').hidden = ha.length > 0;

    const tables = (s.storage && s.storage.tables) || [];
    P.fillBody('storage-table', tables.map(t => P.el('tr', {},
      P.el('td', {class: 'mono'}, t.table),
      P.el('td', {class: 'num', title: t.bytes + ' bytes'}, P.bytes(t.bytes)))));
    document.getElementById('storage-empty').hidden = tables.length > 0;
  }

  async function refresh() {
    try {
      const s = await P.fetchJson('api/status');
      drawCards(s);
      drawCharts(s);
      drawTables(s);
      // the database part failed while the rest answered: say so rather than show empty tables
      if (s.database_error) {
        P.showError(new Error('database: ' + s.database_error));
      } else {
        P.clearError();
      }
    } catch (e) {
      P.showError(e);
    } finally {
      P.setLoaded();
      // Scheduled after the answer, so a slow server never gets overlapping requests.
      setTimeout(refresh, REFRESH_MS);
    }
  }

  refresh();
})();
