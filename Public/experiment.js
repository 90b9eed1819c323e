// One experiment: header with stop/resume, progress, live metric charts, status history,
// checkpoints and the spec.
(function () {
  'use strict';
  const { h } = Amago;

  /** The spec as nested collapsible sections. */
  function specTree(value, depth) {
    if (value === null || typeof value !== 'object') {
      // Single-precision values read back as doubles: seven significant digits say what was meant.
      const shown = typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(7)) : value;
      return h('span.spec-value.' + (value === null ? 'null' : typeof value), JSON.stringify(shown));
    }
    const isSection = function (v) { return v !== null && typeof v === 'object' && Object.keys(v).length > 0; };
    const entries = Array.isArray(value) ? value.map(function (v, i) { return [String(i), v]; })
      : Object.entries(value).sort(function (a, b) { return isSection(a[1]) - isSection(b[1]); });
    if (entries.length === 0) return h('span.spec-value.muted', Array.isArray(value) ? '[]' : '{}');
    return h('dl.spec-tree', entries.map(function (kv) {
      const child = kv[1];
      if (isSection(child)) {
        return h('details.spec-section', { open: depth > 0 || kv[0] === 'environment' },
          h('summary', kv[0]), specTree(child, depth + 1));
      }
      return h('div.spec-row', h('dt', kv[0]), h('dd', specTree(child, depth + 1)));
    }));
  }

  function stat(label, value, extra) {
    return h('div.stat', h('div.stat-label', label), h('div.stat-value', value), extra ? h('div.stat-extra.muted', extra) : null);
  }

  const FINISHED = ['succeeded', 'failed', 'stopped', 'cancelled'];

  function percent(v) { return v === null || v === undefined ? '–' : Math.round(v * 100) + '%'; }

  Amago.pages.experiment = function (main, route) {
    const id = route.id;
    let experiment = null;
    let feed = null;
    let destroyed = false;
    let lastEpoch = -1;
    const header = h('div.page-head');
    const stats = h('div.stats.card');
    const errorBox = h('div.banner.banner-error', { hidden: true });
    const history = h('ol.history');
    const checkpoints = h('div.checkpoints');
    const spec = h('div.spec');
    const panel = new Amago.MetricPanel(id, function () {
      const start = experiment && (experiment.started_at || experiment.created_at);
      return start ? Date.parse(start) / 1000 : 0;
    });
    main.append(h('div.breadcrumb', h('a', { href: '#/' }, 'Experiments'), ' / ', h('span.mono', id)),
      header, errorBox, stats,
      h('div.experiment-layout',
        h('div.experiment-main', panel.element),
        h('aside.experiment-aside',
          h('section.card', h('h2', 'Status history'), history),
          h('section.card', h('h2', 'Checkpoints'), checkpoints),
          h('section.card', h('h2', 'Spec'), spec))));

    function renderHeader() {
      const e = experiment;
      const canStop = e.status === 'queued' || e.status === 'running';
      const canResume = e.status === 'stopped' || e.status === 'failed';
      header.replaceChildren.apply(header, [
        h('div', h('h1', e.name || e.id, ' ', Amago.statusBadge(e.status)),
          h('div.muted', e.environment, ' · created ', h('span', { title: Amago.absoluteTime(e.created_at) }, Amago.relativeTime(e.created_at)),
            e.group ? h('span', ' · group ', Amago.groupLink(e.group)) : null,
            (e.tags || []).length ? h('span.tags', (e.tags || []).map(function (t) { return Amago.tagChip(t); })) : null)),
        h('div.spacer'),
        h('span.export-buttons',
          h('a.button', { href: AmagoAPI.exportPath(e.id, 'jsonl'), download: '', id: 'export-jsonl',
            title: 'spec, status history, checkpoints and every series as JSON lines' }, '↓ JSON lines'),
          h('a.button', { href: AmagoAPI.exportPath(e.id, 'zip'), download: '', id: 'export-zip',
            title: 'spec, status history, checkpoints and every series as CSV files in a zip' }, '↓ Zip of CSV')),
        h('a.button', { href: '#/compare?ids=' + encodeURIComponent(e.id) }, 'Compare'),
        canStop ? h('button.danger', { type: 'button', id: 'stop', onclick: function () { act('stop'); } }, e.status === 'queued' ? 'Cancel' : 'Stop') : null,
        canResume ? h('button.primary', { type: 'button', id: 'resume', onclick: function () { act('resume'); } }, 'Resume') : null,
      ].filter(Boolean));
      document.title = (e.name || e.id) + ' · Amago';
    }

    function renderStats() {
      const e = experiment;
      const p = e.progress || {};
      const latest = e.latest_metrics || {};
      const ret = p.last_return !== null && p.last_return !== undefined ? p.last_return : latest['val/return'];
      const returns = summaries['val/return'];
      stats.replaceChildren.apply(stats, [
        h('div.stat.stat-wide', h('div.stat-label', 'Progress'), Amago.progressBar(e)),
        stat('Env steps', AmagoChart.formatNumber(p.env_steps)),
        stat('Gradient steps', AmagoChart.formatNumber(p.grad_steps)),
        stat('Eval return', AmagoChart.formatNumber(ret), returns ? h('span.return-stats', Amago.statParts(returns, ['best', 'min', 'max'])) : null),
        stat('Success', percent(p.last_success_rate)),
        stat('Running time', e.started_at ? AmagoChart.formatDuration(((e.finished_at ? Date.parse(e.finished_at) : Date.now()) - Date.parse(e.started_at)) / 1000) : '–',
          p.phase && e.status === 'running' ? Amago.phaseText(p.phase) : null),
        e.collection ? stat('Clients', Amago.collectionText(e.collection)) : null].filter(Boolean));
      errorBox.hidden = !e.error;
      errorBox.textContent = e.error ? 'Error: ' + e.error : '';
    }

    function renderHistory() {
      const rows = (experiment.status_history || []).slice().reverse().map(function (c) {
        return h('li', h('div', Amago.statusBadge(c.to), h('span.muted.small', ' ', Amago.absoluteTime(c.at))),
          c.reason ? h('div.small', c.reason) : null);
      });
      history.replaceChildren.apply(history, rows);
    }

    function renderSpec() {
      if (spec.firstChild) return;
      spec.append(specTree(experiment.spec, 0),
        h('details.spec-json', h('summary', 'JSON'), h('pre.mono', JSON.stringify(experiment.spec, null, 2))));
    }

    async function loadCheckpoints() {
      try {
        const list = (await AmagoAPI.get('/experiments/' + encodeURIComponent(id) + '/checkpoints')).checkpoints || [];
        if (destroyed) return;
        if (list.length === 0) { checkpoints.replaceChildren(h('p.muted', 'None yet.')); return; }
        checkpoints.replaceChildren(h('table.compact', h('thead', h('tr', h('th', 'Epoch'), h('th.num', 'Steps'), h('th.num', 'Return'), h('th.num', 'File'))),
          h('tbody', list.slice().reverse().map(function (c) {
            return h('tr', h('td', String(c.epoch)), h('td.num', AmagoChart.formatNumber(c.env_steps)),
              h('td.num', AmagoChart.formatNumber(c.eval_return)),
              h('td.num', h('a.download', { href: c.url, download: '', title: 'safetensors, ' + Math.max(1, Math.round(c.size_bytes / 1024)) + ' KB' },
                '↓ ' + Math.max(1, Math.round(c.size_bytes / 1024)) + ' KB')));
          }))));
      } catch (e) { checkpoints.replaceChildren(h('p.muted', 'Could not load: ' + e.message)); }
    }

    function apply(e, full) {
      const statusChanged = !experiment || experiment.status !== e.status;
      experiment = full ? e : Object.assign({}, experiment, e);
      renderHeader();
      renderStats();
      if (full) { renderHistory(); renderSpec(); }
      const epoch = (e.progress || {}).epoch;
      if (epoch !== lastEpoch) {
        // A new epoch brings checkpoints and moves the best / min / max of each metric.
        if (lastEpoch !== -1) loadKeys().catch(function () { /* the next epoch retries */ });
        lastEpoch = epoch;
        loadCheckpoints();
      }
      if (statusChanged && !full) refresh();
    }

    async function refresh() {
      const e = await AmagoAPI.get('/experiments/' + encodeURIComponent(id));
      if (!destroyed) apply(e, true);
      return e;
    }

    let summaries = {};
    async function loadKeys() {
      const keys = await AmagoAPI.get('/experiments/' + encodeURIComponent(id) + '/metrics');
      if (destroyed) return;
      summaries = keys.summaries || {};
      panel.setKeys(keys.keys || []);
      panel.setSummaries(summaries);
      if (experiment) renderStats();
    }

    async function act(what) {
      try {
        const e = await AmagoAPI.post('/experiments/' + encodeURIComponent(id) + '/' + what);
        apply(e, true);
        ensureFeed();
        Amago.notify(what === 'stop' ? 'Stop requested: the run checkpoints and ends.' : 'Resumed: queued to continue from its latest checkpoint.', 'info');
      } catch (err) {
        if (err.status !== 401) Amago.notify('Could not ' + what + ': ' + err.message);
      }
    }

    /** Follows the experiment live while it may still record points (again after a resume). */
    function ensureFeed() {
      if (feed || destroyed || !experiment) return;
      if (FINISHED.indexOf(experiment.status) >= 0) { panel.setMode('finished'); return; }
      feed = new AmagoAPI.LiveFeed(id, {
        experiment: function (e) { if (!destroyed) apply(e, false); },
        status: function () { if (!destroyed) refresh(); },
        points: function (points) { if (!destroyed) panel.addPoints(points); },
        poll: poll,
        mode: function (mode) {
          panel.setMode(mode);
          // Points recorded between the first reads and the stream's start are fetched once.
          if (mode === 'stream') panel.poll(true).catch(function () { /* the stream carries on */ });
        },
      }, { mode: route.query.get('live') || '' });
    }

    let knownPoints = -1;
    async function poll() {
      const e = await refresh();
      const count = Object.keys(e.latest_metrics || {}).length;
      if (count !== knownPoints) { knownPoints = count; await loadKeys(); }
      await panel.poll();
    }

    const onResize = (function () {
      let t = null;
      return function () { clearTimeout(t); t = setTimeout(function () { panel.resize(); }, 150); };
    })();
    window.addEventListener('resize', onResize);

    (async function () {
      try {
        await refresh();
      } catch (e) {
        main.replaceChildren(h('div.empty', h('h1', 'Experiment not found'), h('p', e.message), h('a', { href: '#/' }, 'Back to the list')));
        return;
      }
      ensureFeed();
      loadKeys().catch(function (e) { Amago.notify('Could not load metric keys: ' + e.message); });
    })();

    return {
      destroy: function () {
        destroyed = true;
        if (feed) feed.close();
        panel.destroy();
        window.removeEventListener('resize', onResize);
        document.title = 'Amago';
      },
    };
  };
})();
