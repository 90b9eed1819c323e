// Groups: the list of groups, and one group (or sweep) with its runs' curves averaged across
// seeds — a mean line and a min–max or ±std band per split — and a table of each run's last,
// best, min and max.
(function () {
  'use strict';
  const { h } = Amago;
  const REFRESH_MS = 5000;
  const ACTIVE = ['queued', 'running', 'stopping'];

  /** Status counts as small badges: "3 succeeded · 1 running". */
  function countsLine(counts) {
    return h('span.status-counts', Amago.STATUSES.filter(function (s) { return counts && counts[s]; }).map(function (s) {
      return h('span.count-item', { dataset: { status: s } }, h('span.dot.status-' + s), counts[s] + ' ' + s);
    }));
  }

  /** A split value as it reads in a cell: strings bare, the rest as JSON. */
  function valueText(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

  /** A group's curve points for the chart: the mean, banded by min–max or mean ± std. */
  function chartPoints(points, band) {
    return points.map(function (p) {
      const std = p.std === null || p.std === undefined ? 0 : p.std;
      return band === 'std'
        ? { x: p.x, value: p.mean, min: p.mean - std, max: p.mean + std }
        : { x: p.x, value: p.mean, min: p.min, max: p.max };
    });
  }

  Amago.pages.groups = function (main) {
    let destroyed = false;
    let timer = null;
    const body = h('tbody');
    const table = h('table.groups', h('thead', h('tr', h('th', 'Group'), h('th.num', 'Runs'), h('th', 'Status'), h('th', 'Latest run'))), body);
    const empty = h('div.empty', { hidden: true },
      h('p', 'No groups yet. Give experiments a "group" in their spec, or start a sweep with POST /sweeps.'));
    main.append(h('div.page-head', h('h1', 'Groups'), h('div.spacer'), h('a.button', { href: '#/' }, 'All experiments')),
      h('div.card.table-card', table, empty));

    async function refresh() {
      clearTimeout(timer);
      try {
        const groups = (await AmagoAPI.get('/groups')).groups || [];
        if (destroyed) return;
        body.replaceChildren.apply(body, groups.map(function (g) {
          return h('tr', { dataset: { group: g.group }, onclick: function (ev) {
            if (!ev.target.closest('a')) location.hash = Amago.groupHref(g.group);
          } }, h('td', Amago.groupLink(g.group)), h('td.num', String(g.experiments)), h('td', countsLine(g.status_counts)),
          h('td', { title: Amago.absoluteTime(g.last_created_at) }, Amago.relativeTime(g.last_created_at)));
        }));
        table.hidden = groups.length === 0;
        empty.hidden = groups.length > 0;
      } catch (e) {
        if (!destroyed) Amago.notify('Could not load groups: ' + e.message);
      }
      if (!destroyed) timer = setTimeout(refresh, REFRESH_MS);
    }

    refresh();
    return { destroy: function () { destroyed = true; clearTimeout(timer); } };
  };

  Amago.pages.group = function (main, route) {
    let group = route.group || null;
    const sweepID = route.sweep || null;
    const requested = route.query.get('key') || '';
    let key = requested;
    let axis = route.query.get('x') || Amago.setting('axis', 'env_steps');
    let band = route.query.get('band') || 'minmax';
    let summary = null;
    let destroyed = false;
    let timer = null;
    let chart = null;

    const title = h('h1', group || 'Sweep');
    const subtitle = h('div.muted.group-sub');
    const keySelect = h('select', { id: 'group-key', onchange: function (e) { key = e.target.value; sync(); renderTable(); draw(); } });
    const axisSelect = h('select', { id: 'x-axis', onchange: function (e) { axis = e.target.value; Amago.remember('axis', axis); sync(); draw(); } },
      Amago.AXES.map(function (a) { return h('option', { value: a[0], selected: a[0] === axis }, a[1]); }));
    const bandSelect = h('select', { id: 'group-band', onchange: function (e) { band = e.target.value; sync(); draw(); } },
      [['minmax', 'min – max'], ['std', 'mean ± std']].map(function (b) { return h('option', { value: b[0], selected: b[0] === band }, b[1]); }));
    const chartBox = h('div.chart-box.chart-large');
    const legend = h('div.legend');
    const hint = h('p.muted.hint');
    const head = h('thead');
    const body = h('tbody');
    const compare = h('a.button', { href: '#/compare' }, 'Compare runs');
    main.append(
      h('div.breadcrumb', h('a', { href: '#/groups' }, 'Groups'), ' / ', h('span', group || sweepID)),
      h('div.page-head', h('div', title, subtitle), h('div.spacer'), compare),
      h('section.card.group-main',
        h('div.toolbar', h('label', 'Metric ', keySelect), h('label', 'X axis ', axisSelect), h('label', 'Band ', bandSelect)),
        hint, chartBox, legend),
      h('section.card.table-card', h('h2', 'Runs'), h('table.members', head, body)));

    function sync() {
      const q = new URLSearchParams();
      if (key) q.set('key', key);
      if (band !== 'minmax') q.set('band', band);
      const path = sweepID ? '#/sweeps/' + encodeURIComponent(sweepID) : Amago.groupHref(group);
      history.replaceState(null, '', path + (q.toString() ? '?' + q.toString() : ''));
    }

    /** Every metric key any member has recorded, `val/return` first when present. */
    function keys() {
      const all = new Set();
      for (const e of summary.experiments) for (const k in e.metrics || {}) all.add(k);
      return Array.from(all).sort(function (a, b) { return (b === 'val/return') - (a === 'val/return') || a.localeCompare(b); });
    }

    function renderHead() {
      const s = summary;
      title.textContent = group;
      document.title = group + ' · Amago';
      subtitle.replaceChildren(s.experiments.length + (s.experiments.length === 1 ? ' run' : ' runs') + ' · ', countsLine(s.status_counts),
        s.split_keys.length ? h('span', ' · split by ', h('span.mono', s.split_keys.join(', '))) : null,
        (s.sweeps || []).length ? h('span', ' · sweep ', (s.sweeps || []).map(function (id) { return h('span.mono', id); })) : null);
      compare.href = '#/compare?ids=' + s.experiments.map(function (e) { return encodeURIComponent(e.id); }).join(',') +
        (key ? '&key=' + encodeURIComponent(key) : '');
      const all = keys();
      // A key the URL asked for stays chosen while no run has recorded it yet.
      if (!key || (all.indexOf(key) < 0 && key !== requested)) key = all[0] || requested;
      if (key && all.indexOf(key) < 0) all.unshift(key);
      keySelect.replaceChildren.apply(keySelect, all.map(function (k) { return h('option', { value: k, selected: k === key }, k); }));
    }

    function renderTable() {
      const s = summary;
      const first = s.experiments.map(function (e) { return (e.metrics || {})[key]; }).find(Boolean);
      head.replaceChildren(h('tr', h('th', 'Run'), s.split_keys.map(function (p) { return h('th.mono', p); }), h('th.mono', 'seed'),
        h('th', 'Status'), h('th.progress-col', 'Progress'),
        Amago.SUMMARY_STATS.map(function (stat) { return h('th.num', { dataset: { stat: stat } }, Amago.statLabel(stat, first)); })));
      body.replaceChildren.apply(body, s.experiments.map(function (e) {
        const link = '#/experiments/' + encodeURIComponent(e.id);
        const m = (e.metrics || {})[key];
        return h('tr', { dataset: { id: e.id, status: e.status } },
          h('td', h('a.name', { href: link }, e.name || e.id), h('div.muted.small.mono', e.id)),
          s.split_keys.concat(['seed']).map(function (p) {
            const v = (e.values || {})[p];
            return h('td.mono', { dataset: { path: p } }, v === undefined || v === null ? '–' : valueText(v));
          }),
          h('td', Amago.statusBadge(e.status)),
          h('td.progress-col', Amago.progressBar(e)),
          Amago.SUMMARY_STATS.map(function (stat) { return Amago.statValue('td.num', stat, m); }));
      }));
    }

    async function draw() {
      if (!key) {
        hint.textContent = 'No metrics recorded yet: the curves appear after the runs\' first evaluations.';
        return;
      }
      const wanted = { key: key, axis: axis };
      let answer;
      try {
        answer = await AmagoAPI.get(AmagoAPI.groupSeriesPath(group, key, { x: axis, points: '200' }));
      } catch (e) {
        hint.textContent = 'Could not load the curves: ' + e.message;
        return;
      }
      if (destroyed || wanted.key !== key || wanted.axis !== axis) return;
      const series = answer.curves.map(function (c, i) {
        return { name: c.label, color: AmagoChart.PALETTE[i % AmagoChart.PALETTE.length], points: chartPoints(c.points, band), runs: c.experiments.length };
      });
      hint.textContent = series.length ? 'Mean over each split\'s runs, with a ' + (band === 'std' ? '±1 std' : 'min–max') + ' band.' : 'No run has recorded "' + key + '" yet.';
      if (!chart) chart = new AmagoChart.LineChart(chartBox, { height: 360 });
      chart.formatX = Amago.axisFormatter(axis, 0);
      chart.xName = Amago.axisName(axis);
      chart.setSeries(series);
      chartBox.dataset.band = band;
      chartBox.dataset.key = key;
      legend.replaceChildren.apply(legend, series.map(function (s) {
        const last = s.points.length ? s.points[s.points.length - 1].value : null;
        return h('span.legend-item', { dataset: { label: s.name } }, h('span.swatch', { style: 'background:' + s.color }), s.name,
          h('span.muted', ' ' + s.runs + (s.runs === 1 ? ' run' : ' runs') + ' · mean ' + AmagoChart.formatNumber(last)));
      }));
    }

    async function refresh() {
      clearTimeout(timer);
      try {
        if (!group) {
          const sweep = await AmagoAPI.get('/sweeps/' + encodeURIComponent(sweepID));
          group = sweep.group;
          summary = sweep;
        } else {
          summary = await AmagoAPI.get(AmagoAPI.groupPath(group));
        }
      } catch (e) {
        if (destroyed) return;
        if (!summary) {
          main.replaceChildren(h('div.empty', h('h1', 'Group not found'), h('p', e.message), h('a', { href: '#/groups' }, 'All groups')));
        } else {
          Amago.notify('Could not refresh the group: ' + e.message);
          timer = setTimeout(refresh, REFRESH_MS);
        }
        return;
      }
      if (destroyed) return;
      if (summary.experiments.length === 0 && !sweepID) {
        main.replaceChildren(h('div.empty', h('h1', 'No runs in "' + group + '"'), h('a', { href: '#/groups' }, 'All groups')));
        return;
      }
      renderHead();
      renderTable();
      await draw();
      main.dataset.groupReady = 'true';
      if (destroyed) return;
      // Finished groups are drawn once; a group with runs still going keeps refreshing.
      if (summary.experiments.some(function (e) { return ACTIVE.indexOf(e.status) >= 0; })) timer = setTimeout(refresh, REFRESH_MS);
    }

    refresh();
    const onResize = function () { if (chart) chart.render(); };
    window.addEventListener('resize', onResize);
    return {
      destroy: function () {
        destroyed = true;
        clearTimeout(timer);
        window.removeEventListener('resize', onResize);
        document.title = 'Amago';
      },
    };
  };
})();
