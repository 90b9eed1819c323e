// The dashboard shell: DOM helpers, the hash router, the token bar, and shared formatting.
// Pages (list.js, experiment.js, group.js, compare.js, new.js) register themselves in `Amago.pages`.
(function (root) {
  'use strict';

  /** Creates an element: h('a.link', {href}, 'text', child…); null children are skipped. */
  function h(spec, attrs) {
    const parts = spec.split('.');
    const node = document.createElement(parts[0] || 'div');
    if (parts.length > 1) node.className = parts.slice(1).join(' ');
    let children = Array.prototype.slice.call(arguments, 2);
    if (attrs && (attrs instanceof Node || typeof attrs !== 'object' || Array.isArray(attrs))) {
      children.unshift(attrs);
      attrs = null;
    }
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k in node && k !== 'list' && k !== 'form') node[k] = v;
      else node.setAttribute(k, v === true ? '' : v);
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(node, c);
      else node.append(c instanceof Node ? c : String(c));
    }
  }

  const STATUSES = ['queued', 'running', 'stopping', 'succeeded', 'failed', 'stopped', 'cancelled'];

  function statusBadge(status) {
    return h('span.badge.status-' + status, { dataset: { status: status } }, status);
  }

  function relativeTime(iso) {
    if (!iso) return '–';
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (!isFinite(seconds)) return '–';
    if (seconds < 45) return 'just now';
    if (seconds < 3600) return Math.round(seconds / 60) + ' min ago';
    if (seconds < 86400) return Math.round(seconds / 3600) + ' h ago';
    return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  }

  function absoluteTime(iso) {
    return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '–';
  }

  /** A phase as words: "waiting_for_clients" → "waiting for clients". */
  function phaseText(phase) { return String(phase).replace(/_/g, ' '); }

  /** What the clients of a running external experiment are doing, in one line. */
  function collectionText(c) {
    if (!c) return null;
    return c.sessions + (c.sessions === 1 ? ' session' : ' sessions') + ' · ' + AmagoChart.formatNumber(c.steps_per_second) +
      ' steps/s · epoch ' + AmagoChart.formatNumber(c.epoch_steps) + ' / ' + AmagoChart.formatNumber(c.epoch_quota);
  }

  /** The page of a group (the name travels as one URL-encoded segment). */
  function groupHref(group) { return '#/groups/' + encodeURIComponent(group); }

  /** A link to a group's page, or a dash when there is none. */
  function groupLink(group) {
    return group ? h('a.group-link', { href: groupHref(group), dataset: { group: group } }, group) : h('span.muted', '–');
  }

  /** A tag as a chip; `onpick(tag)` handles a click (by default the list filtered by the tag). */
  function tagChip(tag, onpick) {
    return h('a.tag', { href: '#/?tag=' + encodeURIComponent(tag), dataset: { tag: tag }, onclick: onpick ? function (e) {
      e.preventDefault();
      e.stopPropagation();
      onpick(tag);
    } : null }, tag);
  }

  /** The statistics of one metric a summary holds, in the order they are shown. */
  const SUMMARY_STATS = ['last', 'best', 'min', 'max'];

  /** A statistic's heading: "best (max)" says which end is best. */
  function statLabel(stat, summary) {
    return stat === 'best' && summary && summary.best_is ? 'best (' + summary.best_is + ')' : stat;
  }

  /** A summary's value as text, with the exact number in `data-value` (empty when unknown). */
  function statValue(tag, stat, summary) {
    const v = summary ? summary[stat] : null;
    const known = v !== null && v !== undefined;
    return h(tag, { dataset: { stat: stat, value: known ? String(v) : '' }, title: known ? String(v) : null },
      AmagoChart.formatNumber(known ? v : null));
  }

  /** "best 1 · min 0 · max 1" from a summary, each part a `[data-stat][data-value]` span. */
  function statParts(summary, stats) {
    const parts = [];
    stats.forEach(function (stat, i) {
      const v = summary ? summary[stat] : null;
      const known = v !== null && v !== undefined;
      if (i > 0) parts.push(' · ');
      parts.push(h('span', { dataset: { stat: stat, value: known ? String(v) : '' },
        title: stat === 'best' && summary ? 'best is the ' + summary.best_is : null }, stat + ' ' + AmagoChart.formatNumber(known ? v : null)));
    });
    return parts;
  }

  /** A progress bar with "epoch n / N" and the ETA of a running experiment. */
  function progressBar(e) {
    const p = e.progress || {};
    const fraction = Math.max(0, Math.min(1, p.fraction || 0));
    const done = e.status === 'succeeded';
    const label = (p.epoch || 0) + ' / ' + (p.epochs || 0);
    const eta = e.status === 'running' && p.eta_seconds !== null && p.eta_seconds !== undefined
      ? 'ETA ' + AmagoChart.formatDuration(p.eta_seconds) : (p.phase && e.status === 'running' ? phaseText(p.phase) : '');
    return h('div.progress', { title: 'epoch ' + label },
      h('div.progress-track', h('div.progress-fill.status-' + e.status, { style: 'width:' + (done ? 100 : fraction * 100).toFixed(1) + '%' })),
      h('div.progress-text', h('span', label), h('span.muted', eta)));
  }

  /** The banner area under the header: errors, 401 hints. */
  function notify(message, kind) {
    const area = document.getElementById('banner');
    area.textContent = '';
    if (!message) return;
    area.append(h('div.banner.banner-' + (kind || 'error'), h('span', message),
      h('button.link', { type: 'button', onclick: function () { area.textContent = ''; } }, 'Dismiss')));
  }

  function tokenControl() {
    const button = document.getElementById('token-button');
    const refresh = function () {
      button.textContent = AmagoAPI.token() ? 'Token set' : 'Set token';
      button.classList.toggle('active', !!AmagoAPI.token());
    };
    button.addEventListener('click', function () { openTokenForm(refresh); });
    refresh();
    AmagoAPI.onUnauthorized(function () {
      notify(AmagoAPI.token()
        ? 'The server refused the token (401). Check it with "Token set" in the header.'
        : 'This server requires a bearer token for changes (401). Enter it with "Set token" in the header.');
      openTokenForm(refresh);
    });
  }

  function openTokenForm(refresh) {
    const area = document.getElementById('token-form');
    if (area.firstChild) { area.textContent = ''; return; }
    const input = h('input', { type: 'password', placeholder: 'bearer token', value: AmagoAPI.token(), autocomplete: 'off' });
    const close = function () { area.textContent = ''; refresh(); };
    area.append(h('form.token-form', {
      onsubmit: function (e) { e.preventDefault(); AmagoAPI.setToken(input.value.trim()); close(); notify(''); },
    }, h('label', 'Token for stop, resume and new experiments (kept in this browser)'), input,
      h('button.primary', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: function () { AmagoAPI.setToken(''); close(); } }, 'Forget'),
      h('button.link', { type: 'button', onclick: close }, 'Cancel')));
    input.focus();
  }

  const pages = {};
  let current = null;

  /** Parses location.hash into {name, id, query}. */
  function parseRoute(hash) {
    const raw = (hash || '').replace(/^#\/?/, '');
    const q = raw.indexOf('?');
    const path = q >= 0 ? raw.slice(0, q) : raw;
    const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'experiments' && parts[1]) return { name: 'experiment', id: parts[1], query: query };
    if (parts[0] === 'groups' && parts[1]) return { name: 'group', group: parts[1], query: query, nav: 'groups' };
    if (parts[0] === 'groups') return { name: 'groups', query: query };
    if (parts[0] === 'sweeps' && parts[1]) return { name: 'group', sweep: parts[1], query: query, nav: 'groups' };
    if (parts[0] === 'compare') return { name: 'compare', query: query };
    if (parts[0] === 'new') return { name: 'new', query: query };
    return { name: 'list', query: query };
  }

  function route() {
    if (current && current.destroy) current.destroy();
    const r = parseRoute(location.hash);
    const main = document.getElementById('main');
    main.textContent = '';
    main.dataset.page = r.name;
    notify('');
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === (r.nav || r.name));
    const page = pages[r.name];
    current = page ? page(main, r) : null;
  }

  function start() {
    tokenControl();
    window.addEventListener('hashchange', route);
    route();
  }

  root.Amago = {
    h: h, pages: pages, statusBadge: statusBadge, relativeTime: relativeTime, absoluteTime: absoluteTime,
    progressBar: progressBar, phaseText: phaseText, groupHref: groupHref, groupLink: groupLink, tagChip: tagChip,
    SUMMARY_STATS: SUMMARY_STATS, statLabel: statLabel, statValue: statValue, statParts: statParts, collectionText: collectionText, notify: notify, STATUSES: STATUSES, parseRoute: parseRoute,
  };
  document.addEventListener('DOMContentLoaded', start);
})(this);
