/*
 * Shared helpers of the prom2pg console: API access, the error banner, formatting and charts.
 * Loaded before each page's own script; everything lives under the global `prom2pg`.
 */
'use strict';

// Tests read charts from here, so every chart must be registered under its name.
window.prom2pgCharts = window.prom2pgCharts || {};

const prom2pg = (() => {

  /** GET a console API resource; a non-2xx answer becomes an Error "status reason". */
  async function fetchJson(url) {
    let res;
    try {
      res = await fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
    } catch (e) {
      throw new Error('network error: ' + (e && e.message ? e.message : e));
    }
    if (!res.ok) {
      let reason = '';
      try { reason = (await res.text()).trim(); } catch (e) { /* the status alone still says enough */ }
      const err = new Error(res.status + ' ' + (reason || res.statusText || 'request failed'));
      err.status = res.status;
      err.reason = reason;
      throw err;
    }
    try {
      return await res.json();
    } catch (e) {
      throw new Error(res.status + ' answer is not JSON');
    }
  }

  function showError(err) {
    const banner = document.getElementById('error');
    if (!banner) return;
    banner.textContent = err && err.message ? err.message : String(err);
    banner.hidden = false;
  }

  function clearError() {
    const banner = document.getElementById('error');
    if (!banner) return;
    banner.textContent = '';
    banner.hidden = true;
  }

  function setLoaded() { document.body.dataset.loaded = 'true'; }

  // Pages that load again on user action drop the flag first, so a waiting test sees the new state.
  function setLoading() { delete document.body.dataset.loaded; }

  // ---- formatting -------------------------------------------------------------------------

  const DASH = '–';

  function trimZero(s) { return s.indexOf('.') < 0 ? s : s.replace(/\.?0+$/, ''); }

  function small(a) {
    if (a === 0) return '0';
    if (a >= 100) return a.toFixed(0);
    if (a >= 10) return trimZero(a.toFixed(1));
    if (a >= 1) return trimZero(a.toFixed(2));
    return String(parseFloat(a.toPrecision(2)));
  }

  /** 1234 → "1.2k", 3.4e6 → "3.4M", 0.25 → "0.25". */
  function num(n) {
    if (n === null || n === undefined || !isFinite(n)) return DASH;
    const sign = n < 0 ? '-' : '';
    let a = Math.abs(n);
    const units = ['', 'k', 'M', 'G', 'T', 'P'];
    let i = 0;
    while (a >= 999.95 && i < units.length - 1) { a /= 1000; i++; }
    if (i === 0) return sign + small(a);
    return sign + (a >= 100 ? a.toFixed(0) : trimZero(a.toFixed(1))) + units[i];
  }

  function bytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return DASH;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let a = Math.abs(n);
    let i = 0;
    while (a >= 1023.95 && i < units.length - 1) { a /= 1024; i++; }
    const s = i === 0 ? a.toFixed(0) : (a >= 100 ? a.toFixed(0) : trimZero(a.toFixed(1)));
    return (n < 0 ? '-' : '') + s + ' ' + units[i];
  }

  /** A span of seconds as "12 s", "3 min", "5 h", "2 d". */
  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return DASH;
    const s = Math.abs(seconds);
    if (s < 60) return Math.round(s) + ' s';
    if (s < 3600) return Math.round(s / 60) + ' min';
    if (s < 86400) return trimZero((s / 3600).toFixed(1)) + ' h';
    return trimZero((s / 86400).toFixed(1)) + ' d';
  }

  /** How long ago ms was, measured against now (the server's clock where known). */
  function age(ms, now) {
    if (ms === null || ms === undefined) return 'never';
    const d = ((now === undefined ? Date.now() : now) - ms) / 1000;
    return d < 0 ? 'in ' + duration(-d) : duration(d) + ' ago';
  }

  /** Latency in seconds, in the unit that keeps it readable. */
  function seconds(v) {
    if (v === null || v === undefined || !isFinite(v)) return DASH;
    const a = Math.abs(v);
    if (a === 0) return '0 s';
    if (a < 1e-3) return small(v * 1e6) + ' µs';
    if (a < 1) return small(v * 1e3) + ' ms';
    return small(v) + ' s';
  }

  /** An instant as "YYYY-MM-DD HH:MM:SS" in UTC. */
  function utc(ms) {
    const d = new Date(ms);
    if (ms === null || ms === undefined || isNaN(d.getTime())) return DASH;
    return d.toISOString().slice(0, 19).replace('T', ' ');
  }

  // ---- DOM --------------------------------------------------------------------------------

  /** Build an element; children are nodes or text (never parsed as HTML: label values are data). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  /** Replace a table's tbody rows. */
  function fillBody(tableId, rows) {
    const table = document.getElementById(tableId);
    let body = table.tBodies[0];
    if (!body) body = table.appendChild(document.createElement('tbody'));
    body.replaceChildren(...rows);
  }

  function setText(id, text) {
    const e = document.getElementById(id);
    if (e) e.textContent = text;
  }

  function markNav() {
    const here = location.pathname.replace(/\/$/, '/index.html');
    for (const a of document.querySelectorAll('nav.top a.page')) {
      const target = new URL(a.getAttribute('href'), location.href).pathname;
      if (target === here) {
        a.classList.add('current');
        a.setAttribute('aria-current', 'page');
      }
    }
  }

  // ---- charts -----------------------------------------------------------------------------

  const BASE = {
    animation: false,
    useUTC: true,
    textStyle: {fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'},
    grid: {left: 56, right: 16, top: 36, bottom: 28},
  };

  let warnedNoLib = false;

  /** The chart registered as name, created in #chart-<name> on first use; null without ECharts. */
  function chart(name) {
    if (window.prom2pgCharts[name]) return window.prom2pgCharts[name];
    if (typeof echarts === 'undefined') {
      if (!warnedNoLib) showError('chart library lib/echarts.min.js did not load');
      warnedNoLib = true;
      return null;
    }
    const dom = document.getElementById('chart-' + name);
    if (!dom) return null;
    const c = echarts.init(dom);
    c.setOption(BASE);
    window.prom2pgCharts[name] = c;
    return c;
  }

  /** Draw option into chart name; the series are replaced, not merged, so their count may change. */
  function draw(name, option) {
    const c = chart(name);
    if (!c) return;
    c.setOption(Object.assign({animation: false}, option), {replaceMerge: ['series']});
  }

  window.addEventListener('resize', () => {
    for (const c of Object.values(window.prom2pgCharts)) c.resize();
  });

  /** Parameters of the page URL; changing them keeps the page, its history entry is replaced. */
  function params() { return new URLSearchParams(location.search); }

  function replaceParams(p) {
    const q = p.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
  }

  document.addEventListener('DOMContentLoaded', markNav);

  return {
    fetchJson, showError, clearError, setLoaded, setLoading,
    num, bytes, duration, age, seconds, utc, DASH,
    el, fillBody, setText, chart, draw, params, replaceParams,
  };
})();
